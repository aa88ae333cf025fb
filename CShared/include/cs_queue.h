// cs_queue.h - task queues in the arena, on liburcu's wait-free concurrent queue.
//
// Why this shim exists: a task must move from one process to another without a system
// call on the fast path. liburcu's wfcqueue gives a wait-free enqueue (one exchange)
// and a dequeue that needs mutual exclusion among consumers; both work across
// processes because the arena sits at the same address in every one of them. What
// liburcu does not give is a shared lock for several consumers and a way to sleep:
// this shim adds a robust lock and futex doorbells. liburcu's types stay inside the .c
// file: this header only shows plain storage of the same size (checked there).
//
// Synchronization table (X: the caller needs no more; all take what they need inside)
//                      push   take   task_new  task_free  stats
//   push (producers)    ok     ok      ok        ok        ok
//   take (consumers)    ok     ok      ok        ok        ok
//   stats (any reader)  ok     ok      ok        ok        ok
// push: wait-free enqueue (full barrier), then rings `not_empty`.
// take: consumer lock around the dequeue; rings `not_full` when a pusher waits.
// Counters are relaxed atomics: exact once the queue is quiet.
#ifndef CS_QUEUE_H
#define CS_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "cs_arena.h"
#include "cs_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_QUEUE_NAME_MAX 32
#define CS_TASK_WORDS 5

/// One task: 64 bytes. The first word is liburcu's queue (or stack) link.
typedef struct cs_task {
    uint64_t link;         ///< storage of struct cds_wfcq_node / cds_lfs_node
    uint32_t kind;         ///< what to run; meaning defined by the user of the queue
    uint32_t flags;        ///< CS_TASK_*
    uint64_t enqueued_ns;  ///< monotonic time of the push
    uint64_t words[CS_TASK_WORDS]; ///< payload: indices, labels, offsets
} cs_task;

enum { CS_TASK_POOLED = 1u << 0 };

_Static_assert(sizeof(cs_task) == 64, "a task is one cache line");

/// A pool of preallocated tasks (section "taskpool"): a lock-free stack; pushes are
/// lock-free, pops take `pop_lock` (liburcu requires pops to exclude each other).
typedef struct cs_task_pool {
    uint64_t stack_storage;  ///< struct __cds_lfs_stack
    cs_lock pop_lock;
    uint64_t first_offset;   ///< offset of the first pooled task
    uint64_t end_offset;     ///< one past the last pooled task
    uint32_t capacity;
    uint32_t reserved;
    int64_t in_use;          ///< pooled tasks handed out
    uint64_t overflow;       ///< tasks taken from the general allocator (pool empty)
    int64_t overflow_live;   ///< of those, not yet freed
} cs_task_pool;

/// A task queue of one group (FIFO). 320 bytes: five cache lines, so that producers,
/// consumers and counters do not share one (the directory keeps queues 64-aligned).
/// Padding is explicit because Swift does not import over-aligned C fields.
typedef struct cs_task_queue {
    // Line 0: read-mostly identity and configuration.
    char name[CS_QUEUE_NAME_MAX];
    uint64_t max_depth;
    uint32_t workers;
    uint32_t nonblock;       ///< 1: a push to a full queue fails at once
    uint32_t usleep_us;      ///< consumers sleep this long before each take
    uint32_t index;
    uint8_t pad0[8];
    // Line 1: consumers.
    uint64_t head_storage;   ///< struct __cds_wfcq_head
    cs_lock consumer_lock;
    uint8_t pad1[8];
    // Line 2: producers.
    uint64_t tail_storage;   ///< struct cds_wfcq_tail
    uint8_t pad2[56];
    // Line 3: counters.
    int64_t depth;
    uint64_t pushed;
    uint64_t taken;
    uint64_t refused;        ///< nonblock pushes refused on a full queue
    uint64_t waited_full;    ///< blocking pushes that had to wait for room
    uint64_t wakeups;        ///< consumer sleeps that ended
    uint8_t pad3[16];
    // Line 4: doorbells.
    cs_doorbell not_empty;
    cs_doorbell not_full;
    uint8_t pad4[48];
} cs_task_queue;

_Static_assert(offsetof(cs_task_queue, head_storage) == 64, "consumer line");
_Static_assert(offsetof(cs_task_queue, tail_storage) == 128, "producer line");
_Static_assert(offsetof(cs_task_queue, depth) == 192, "counter line");
_Static_assert(offsetof(cs_task_queue, not_empty) == 256, "doorbell line");

/// The directory of queues (section "queues").
typedef struct cs_queue_dir {
    uint32_t count;
    uint32_t capacity;
    uint64_t reserved[7];
    cs_task_queue queues[];
} cs_queue_dir;

_Static_assert(sizeof(cs_task_queue) == 320, "queue layout is read by respite-shm");
_Static_assert(sizeof(cs_queue_dir) == 64, "queue directory layout is read by respite-shm");

uint64_t cs_task_pool_bytes(uint32_t capacity);
/// Builds a pool of `capacity` tasks in `pool` (which must have cs_task_pool_bytes).
int cs_task_pool_init(cs_arena_header *arena, cs_task_pool *pool, uint32_t capacity);
/// A zeroed task from the pool, or from the allocator when the pool is empty; NULL when
/// the arena is full.
cs_task *cs_task_new(cs_arena_header *arena, cs_task_pool *pool);
/// Returns a task (to the pool or the allocator).
void cs_task_free(cs_arena_header *arena, cs_task_pool *pool, cs_task *task);

uint64_t cs_queue_dir_bytes(uint32_t capacity);
void cs_queue_dir_init(cs_queue_dir *dir, uint32_t capacity);
/// Adds a queue (creator, before fork). NULL when the directory is full.
cs_task_queue *cs_queue_add(cs_queue_dir *dir, const char *name, uint64_t max_depth,
                            uint32_t workers, uint32_t nonblock, uint32_t usleep_us);
/// Finds a queue by name; NULL when absent.
cs_task_queue *cs_queue_find(cs_queue_dir *dir, const char *name);

enum {
    CS_QUEUE_OK = 0,
    CS_QUEUE_FULL = 1,   ///< nonblocking push on a full queue: nothing was queued
};

/// Queues `task` (stamping enqueued_ns). Blocks for room unless `nonblock` is set, in
/// which case a full queue returns CS_QUEUE_FULL and the caller still owns the task.
int cs_queue_push(cs_task_queue *queue, cs_task *task, int nonblock);
/// Takes the oldest task, or NULL when the queue is empty (never sleeps).
cs_task *cs_queue_try_take(cs_task_queue *queue);
/// Takes the oldest task, sleeping on the doorbell while the queue is empty, for at most
/// `timeout_ns` (negative: no limit). NULL on timeout or when interrupted by a signal.
cs_task *cs_queue_take(cs_task_queue *queue, int64_t timeout_ns);
/// Wakes every consumer sleeping on the queue (e.g. at shutdown).
void cs_queue_wake_all(cs_task_queue *queue);

typedef struct cs_queue_stats {
    int64_t depth;
    uint64_t pushed, taken, refused, waited_full, wakeups;
    uint32_t sleeping_consumers;
    uint32_t waiting_producers;
} cs_queue_stats;

/// Relaxed snapshot of a queue's counters; safe on a read-only mapping.
void cs_queue_stats_get(const cs_task_queue *queue, cs_queue_stats *out);

#ifdef __cplusplus
}
#endif
#endif
