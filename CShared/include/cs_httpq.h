// cs_httpq.h - http_async_client's pending queries (section "httpq").
//
// A query is pending from the moment http_async_query() accepts it until its route has
// run (or it was found to have no one left to resume). Its entry says what it asks for
// (method and the start of its URL), which transaction waits for it, since when, and
// which Http Worker runs it; the whole request (full URL, headers, body, settings) travels
// in the task that the worker takes from the "http_async_client" queue and is not kept
// here. Entries are a fixed array with a free list, sized at start (`max_pending`), so a
// full table refuses a query (-1 from the script) instead of filling the arena.
//
// Synchronization table
//   cs_httpq_init : the master, before fork.
//   free list, counters of `used` : under `lock` (cs_httpq_claim / cs_httpq_release).
//   fields of an entry : written by the process that claimed it (before it queues the
//       task) and then by the worker that took the task (state, worker, started_ms);
//       released by that worker, or by the master after it reaped that worker.
//   statistics counters : atomic adds by any process.
//   respite-shm : reads without locks (it re-reads a torn view).
#ifndef CS_HTTPQ_H
#define CS_HTTPQ_H

#include <stdint.h>

#include "cs_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_HTTPQ_VERSION 1u
#define CS_HTTPQ_URL_SHOWN 192
#define CS_HTTPQ_NONE 0xFFFFFFFFu

typedef enum cs_httpq_state {
    CS_HTTPQ_FREE = 0,
    CS_HTTPQ_QUEUED = 1,   ///< waiting in the queue for an Http Worker
    CS_HTTPQ_RUNNING = 2,  ///< a worker sends it / waits for the answer / runs its route
} cs_httpq_state;

typedef struct cs_httpq_entry {
    uint32_t state;          ///< cs_httpq_state
    uint32_t next_free;      ///< free list link (CS_HTTPQ_NONE: end)
    uint64_t id;             ///< the query's id ($http_req_id), never 0 while in use
    uint32_t tx_index;       ///< the suspended transaction (tx_label 0: none, not suspended)
    uint32_t tx_label;
    int32_t worker_slot;     ///< process-table slot of whoever answers for it: the producer
                             ///< until its task is queued, -1 while queued, then the worker
    uint32_t timeout_ms;
    uint64_t queued_ms;      ///< monotonic milliseconds when it was accepted
    uint64_t started_ms;     ///< when a worker took it (0: not yet)
    uint32_t url_len;        ///< the full URL's length (only the first CS_HTTPQ_URL_SHOWN bytes are kept)
    char method[12];         ///< NUL-terminated; empty: curl's choice
    char url[CS_HTTPQ_URL_SHOWN];
} cs_httpq_entry;

typedef struct cs_httpq_table {
    cs_lock lock;
    uint32_t capacity;
    uint32_t used;
    uint32_t free_head;
    uint32_t high_water;     ///< most entries in use at once
    uint64_t next_id;
    uint64_t requests;       ///< queries sent (Kamailio's http_async_client:requests)
    uint64_t replies;        ///< answers received (any status)
    uint64_t errors;         ///< failed exchanges (refused, reset, too large...), timeouts excluded
    uint64_t timeouts;       ///< exchanges that hit their timeout
    uint64_t refused;        ///< queries refused: table full, no memory, queue full
    uint64_t orphaned;       ///< answers that found their transaction gone or no longer suspended
    uint64_t settled;        ///< entries the master released after their worker died
    uint64_t reserved[4];
    cs_httpq_entry entries[];
} cs_httpq_table;

_Static_assert(sizeof(cs_httpq_entry) == 256, "httpq entry layout is read by respite-shm");

uint64_t cs_httpq_table_bytes(uint32_t capacity);
void cs_httpq_init(cs_httpq_table *table, uint32_t capacity);
/// Takes a free entry for the process at `owner_slot` (under the lock: a death right after
/// leaves an entry the master can find), fills id and queued state; its index, or
/// CS_HTTPQ_NONE when full.
uint32_t cs_httpq_claim(cs_httpq_table *table, uint64_t now_ms, int32_t owner_slot);
/// Returns entry `index` to the free list.
void cs_httpq_release(cs_httpq_table *table, uint32_t index);
cs_httpq_entry *cs_httpq_entry_at(cs_httpq_table *table, uint32_t index);
/// Releases every entry the process at `slot` answered for (a producer that died before
/// queueing, a worker that died running it); how many.
uint32_t cs_httpq_release_worker(cs_httpq_table *table, int32_t slot);

#ifdef __cplusplus
}
#endif
#endif
