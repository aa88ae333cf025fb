// cs_async.h - the async module's shared state: where its timer processes sleep, and what
// it has done (section "async").
//
// Why this shim exists: the second-ring and millisecond timer processes must sleep when
// nothing waits (an idle server costs no CPU) and wake as soon as a process suspends a
// transaction on their wheel; the doorbells that do that live here, in the arena, with
// counters that respite-shm shows. The wheels themselves are cs_wheel sections
// ("wheel.async", "wheel.asyncms") and the task queues are the queue directory's.
//
// Synchronization table
//   cs_async_init : the master, before fork.
//   ring_bell / ms_bell : any process rings after arming a link on the matching wheel; the
//       matching timer process sleeps on it (cs_lock.h's doorbell rules).
//   counters : relaxed atomics, added to by the process that did the work.
#ifndef CS_ASYNC_H
#define CS_ASYNC_H

#include <stdint.h>

#include "cs_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ASYNC_VERSION 1u

typedef struct cs_async_state {
    cs_doorbell ring_bell;   ///< the second ring's timer processes sleep here
    cs_doorbell ms_bell;     ///< the millisecond timer process sleeps here
    uint32_t ring_tick_ms;   ///< the second ring's wheel tick
    uint32_t ms_tick_ms;     ///< ms_timer (0: the millisecond timer is off)
    uint64_t suspended;      ///< transactions suspended by async functions
    uint64_t resumed;        ///< resumes that ran a route
    uint64_t resume_missed;  ///< resumes that found nothing to run (answered, gone, cancelled)
    uint64_t tasks_pushed;   ///< data and tkv tasks queued
    uint64_t refused;        ///< calls that returned false (full queue, bad value, ms_queue_max)
    uint64_t reserved[4];
} cs_async_state;

_Static_assert(sizeof(cs_async_state) == 96, "async state layout is read by respite-shm");

void cs_async_init(cs_async_state *state, uint32_t ring_tick_ms, uint32_t ms_tick_ms);

#ifdef __cplusplus
}
#endif
#endif
