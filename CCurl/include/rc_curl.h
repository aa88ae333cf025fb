// libcurl for Swift: curl's setopt and getinfo are variadic, which Swift cannot call, so
// each argument type gets a typed function here; and the write callbacks that collect a
// response under a size cap live in C, where curl calls them without a Swift thunk.
#pragma once
#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "rc_multi.h"

/// A growing byte buffer that refuses to grow past `max` bytes (0: no cap). Once a write
/// would pass the cap, `overflowed` is set and curl is told to stop the transfer; with
/// `truncate` set, the buffer keeps the first `max` bytes instead and drops the rest while
/// the transfer goes on to its end (Kamailio's http_client keeps a truncated body).
typedef struct rc_buffer {
    char *data;
    size_t length;
    size_t capacity;
    size_t max;
    int overflowed;
    int truncate;
} rc_buffer;

void rc_buffer_reset(rc_buffer *buffer);
void rc_buffer_free(rc_buffer *buffer);

CURLcode rc_easy_long(CURL *handle, CURLoption option, long value);
CURLcode rc_easy_string(CURL *handle, CURLoption option, const char *value);
CURLcode rc_easy_pointer(CURL *handle, CURLoption option, void *value);
CURLcode rc_easy_off_t(CURL *handle, CURLoption option, curl_off_t value);

/// Sends the body and the headers of the response into the two buffers (either may be
/// NULL to drop that part).
CURLcode rc_easy_collect(CURL *handle, rc_buffer *body, rc_buffer *headers);

CURLcode rc_info_long(CURL *handle, CURLINFO info, long *value);
CURLcode rc_info_string(CURL *handle, CURLINFO info, const char **value);
CURLcode rc_info_pointer(CURL *handle, CURLINFO info, void **value);

/// A non-blocking, close-on-exec eventfd (Glibc's module map leaves eventfd out): the
/// doorbell that wakes an Http Worker out of its epoll wait (rc_multi.h). -1 with errno
/// on failure.
int rc_eventfd(void);
