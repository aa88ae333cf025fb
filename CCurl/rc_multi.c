#include "rc_multi.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct rc_multi {
    CURLM *curl;
    int epoll_fd;
    int doorbell_fd;
    int watching_doorbell;
    long timer_ms;          ///< curl's last timer request: -1 none, else ms from timer_set_at
    long long timer_set_at; ///< monotonic ms when curl asked
};

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// curl tells which events a socket needs (or that it is done with it).
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *user, void *socket_data) {
    (void)easy; (void)socket_data;
    rc_multi *m = user;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    if (epoll_ctl(m->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
        epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

// curl asks to be called back after timeout_ms (-1: cancel).
static int on_timer(CURLM *curl, long timeout_ms, void *user) {
    (void)curl;
    rc_multi *m = user;
    m->timer_ms = timeout_ms;
    m->timer_set_at = now_ms();
    return 0;
}

rc_multi *rc_multi_new(int doorbell_fd) {
    rc_multi *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->curl = curl_multi_init();
    m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    m->doorbell_fd = doorbell_fd;
    m->timer_ms = -1;
    if (!m->curl || m->epoll_fd < 0) goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = doorbell_fd};
    if (epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, doorbell_fd, &ev) != 0) goto fail;
    m->watching_doorbell = 1;
    curl_multi_setopt(m->curl, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->curl, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->curl, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m->curl, CURLMOPT_TIMERDATA, m);
    // Keep the connections of a burst for the next one (curl's default cache shrinks as
    // transfers finish, closing connections a moment before they are needed again).
    curl_multi_setopt(m->curl, CURLMOPT_MAXCONNECTS, 4096L);
    return m;
fail:
    if (m->curl) curl_multi_cleanup(m->curl);
    if (m->epoll_fd >= 0) close(m->epoll_fd);
    free(m);
    return NULL;
}

void rc_multi_watch_doorbell(rc_multi *m, int on) {
    if (!on == !m->watching_doorbell) return;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = m->doorbell_fd};
    epoll_ctl(m->epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, m->doorbell_fd, &ev);
    m->watching_doorbell = on ? 1 : 0;
}

CURLMcode rc_multi_add(rc_multi *m, CURL *easy) { return curl_multi_add_handle(m->curl, easy); }
CURLMcode rc_multi_remove(rc_multi *m, CURL *easy) { return curl_multi_remove_handle(m->curl, easy); }

int rc_multi_wait(rc_multi *m, int max_ms) {
    int running = 0, rang = 0;
    int wait_ms = max_ms;
    if (m->timer_ms >= 0) {
        long long left = m->timer_set_at + m->timer_ms - now_ms();
        if (left < 0) left = 0;
        if (left < wait_ms) wait_ms = (int)left;
    }
    struct epoll_event events[64];
    int n = epoll_wait(m->epoll_fd, events, 64, wait_ms);
    for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        if (fd == m->doorbell_fd) {
            rang = 1;
            continue;
        }
        int mask = 0;
        if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(m->curl, fd, mask, &running);
    }
    if (m->timer_ms >= 0 && now_ms() >= m->timer_set_at + m->timer_ms) {
        m->timer_ms = -1;
        curl_multi_socket_action(m->curl, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return rang;
}

CURL *rc_multi_next_done(rc_multi *m, CURLcode *code) {
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m->curl, &left))) {
        if (msg->msg == CURLMSG_DONE) {
            *code = msg->data.result;
            return msg->easy_handle;
        }
    }
    return NULL;
}
