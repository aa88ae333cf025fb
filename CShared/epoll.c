// epoll for Swift (cs_epoll.h).
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/epoll.h>

#include "cs_epoll.h"

_Static_assert(CS_EPOLL_IN == EPOLLIN && CS_EPOLL_OUT == EPOLLOUT && CS_EPOLL_ERR == EPOLLERR &&
               CS_EPOLL_HUP == EPOLLHUP && CS_EPOLL_RDHUP == EPOLLRDHUP, "event bits");

int cs_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cs_epoll_watch(int epfd, int fd, uint32_t events, int add) {
    struct epoll_event ev = {.events = events, .data = {.fd = fd}};
    return epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

int cs_epoll_wait(int epfd, int32_t *fds, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ev[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, ev, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = ev[i].data.fd;
        events[i] = ev[i].events;
    }
    return n;
}

int cs_accept(int fd, void *address, uint32_t *length) {
    socklen_t len = *length;
    int rc = accept4(fd, (struct sockaddr *)address, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    *length = len;
    return rc;
}
