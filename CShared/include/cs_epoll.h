// cs_epoll.h - epoll for Swift, which cannot rely on the layout of the packed
// `struct epoll_event`: registration by descriptor, and events returned as two plain arrays.
#ifndef CS_EPOLL_H
#define CS_EPOLL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CS_EPOLL_IN = 0x001,
    CS_EPOLL_OUT = 0x004,
    CS_EPOLL_ERR = 0x008,
    CS_EPOLL_HUP = 0x010,
    CS_EPOLL_RDHUP = 0x2000,
};

/// A new epoll descriptor (close-on-exec); -1 with errno on failure.
int cs_epoll_create(void);
/// Adds (`add` 1) or changes the events watched for `fd` (the event data is `fd`); 0 or -1.
int cs_epoll_watch(int epfd, int fd, uint32_t events, int add);
/// Waits up to `timeout_ms` (-1: forever) for at most `max` events: their descriptors and
/// event bits in `fds` and `events`. The count, 0 on timeout, -1 with errno (EINTR too).
int cs_epoll_wait(int epfd, int32_t *fds, uint32_t *events, int max, int timeout_ms);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC (not visible to Swift without _GNU_SOURCE).
int cs_accept(int fd, void *address, uint32_t *length);

#ifdef __cplusplus
}
#endif
#endif
