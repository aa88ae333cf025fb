// rpcsock.c - management interface sockets and FIFOs (cs_rpcsock.h).
#include "cs_rpcsock.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stdio.h>
#include <unistd.h>

int cs_unix_bind(const char *path, int stream, unsigned mode) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr.sun_path, path, n + 1);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            errno = EEXIST;
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || chmod(path, mode) != 0 ||
        (stream && listen(fd, 128) != 0)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cs_inet_bind(const char *numeric_host, int port, int stream) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = stream ? SOCK_STREAM : SOCK_DGRAM;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(numeric_host, service, &hints, &res);
    if (rc != 0 || res == NULL) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return -1;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || (stream && listen(fd, 128) != 0)) {
        int saved = errno;
        close(fd);
        freeaddrinfo(res);
        errno = saved;
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

int cs_fifo_open_server(const char *path, unsigned mode) {
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISFIFO(st.st_mode)) {
            errno = EEXIST;
            return -1;
        }
    } else if (mkfifo(path, mode) != 0) {
        return -1;
    }
    if (chmod(path, mode) != 0) return -1;
    return open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

int cs_fifo_open_reply(const char *path) {
    return open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
}

ssize_t cs_dgram_receive(int fd, void *buffer, size_t size, cs_any_addr *from) {
    socklen_t length = sizeof from->storage;
    ssize_t n;
    do {
        n = recvfrom(fd, buffer, size, 0, (struct sockaddr *)from->storage, &length);
    } while (n < 0 && errno == EINTR);
    from->length = n >= 0 ? length : 0;
    return n;
}

ssize_t cs_dgram_send(int fd, const void *bytes, size_t size, const cs_any_addr *to) {
    ssize_t n;
    do {
        n = sendto(fd, bytes, size, MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *)to->storage, to->length);
    } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t cs_stream_send(int fd, const void *bytes, size_t size) {
    ssize_t n;
    do {
        n = send(fd, bytes, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n;
}
