// rc_multi.h - curl's multi interface driven by epoll (curl_multi_socket_action), so that a
// wake-up costs in proportion to the sockets that are ready, not to every transfer in flight
// (curl_multi_poll + curl_multi_perform walk all of them on every event: with hundreds of
// queries waiting on a slow service that was most of an Http Worker's time).
//
// One rc_multi per process (an Http Worker). Single-threaded: every call from that process.
#pragma once
#include <curl/curl.h>

typedef struct rc_multi rc_multi;

/// A multi handle whose epoll set also watches `doorbell_fd` (readable: new work). NULL
/// when curl or the kernel refuse.
rc_multi *rc_multi_new(int doorbell_fd);
CURLMcode rc_multi_add(rc_multi *multi, CURL *easy);
CURLMcode rc_multi_remove(rc_multi *multi, CURL *easy);
/// Sleeps until a socket is ready, curl's timer is due, the doorbell rings or `max_ms`
/// passes, and lets curl act on what happened. Returns 1 when the doorbell rang.
int rc_multi_wait(rc_multi *multi, int max_ms);
/// Stops (0) or starts again (1) watching the doorbell: a worker that takes no more work
/// leaves it to the others instead of waking on every ring.
void rc_multi_watch_doorbell(rc_multi *multi, int on);
/// The next finished transfer (its result in *code), or NULL when none is left.
CURL *rc_multi_next_done(rc_multi *multi, CURLcode *code);
