#include "rc_curl.h"
#include <stdlib.h>
#include <string.h>

void rc_buffer_reset(rc_buffer *buffer) {
    buffer->length = 0;
    buffer->overflowed = 0;
}

void rc_buffer_free(rc_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
    buffer->overflowed = 0;
}

static size_t rc_append(char *bytes, size_t size, size_t count, void *user) {
    rc_buffer *buffer = user;
    size_t taken = size * count;
    size_t n = taken;
    if (buffer->max && buffer->length + n > buffer->max) {
        buffer->overflowed = 1;
        if (!buffer->truncate) return 0; // curl ends the transfer with CURLE_WRITE_ERROR
        n = buffer->max - buffer->length;
        if (n == 0) return taken;
    }
    if (buffer->length + n + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity < buffer->length + n + 1) capacity *= 2;
        // Never more than the cap needs, whatever the doubling gives.
        if (buffer->max && capacity > buffer->max + 1) capacity = buffer->max + 1;
        char *grown = realloc(buffer->data, capacity);
        if (!grown) return 0;
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, bytes, n);
    buffer->length += n;
    buffer->data[buffer->length] = 0;
    return taken;
}

static size_t rc_discard(char *bytes, size_t size, size_t count, void *user) {
    (void)bytes; (void)user;
    return size * count;
}

CURLcode rc_easy_long(CURL *handle, CURLoption option, long value) { return curl_easy_setopt(handle, option, value); }
CURLcode rc_easy_string(CURL *handle, CURLoption option, const char *value) { return curl_easy_setopt(handle, option, value); }
CURLcode rc_easy_pointer(CURL *handle, CURLoption option, void *value) { return curl_easy_setopt(handle, option, value); }
CURLcode rc_easy_off_t(CURL *handle, CURLoption option, curl_off_t value) { return curl_easy_setopt(handle, option, value); }

CURLcode rc_easy_collect(CURL *handle, rc_buffer *body, rc_buffer *headers) {
    CURLcode rc = curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, body ? rc_append : rc_discard);
    if (rc == CURLE_OK) rc = curl_easy_setopt(handle, CURLOPT_WRITEDATA, body);
    if (rc == CURLE_OK) rc = curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, headers ? rc_append : rc_discard);
    if (rc == CURLE_OK) rc = curl_easy_setopt(handle, CURLOPT_HEADERDATA, headers);
    return rc;
}

CURLcode rc_info_long(CURL *handle, CURLINFO info, long *value) { return curl_easy_getinfo(handle, info, value); }
CURLcode rc_info_string(CURL *handle, CURLINFO info, const char **value) { return curl_easy_getinfo(handle, info, value); }
CURLcode rc_info_pointer(CURL *handle, CURLINFO info, void **value) { return curl_easy_getinfo(handle, info, value); }

#include <sys/eventfd.h>

int rc_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
