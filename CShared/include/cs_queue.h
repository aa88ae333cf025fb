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
// Synchronization table: every pair may run at the same time in different processes;
// each function takes what it needs inside.
//                      push   take   stats
//   push (producers)    ok     ok     ok
//   take (consumers)    ok     ok     ok
//   stats (any reader)  ok     ok     ok
// push: CAS reservation, wait-free enqueue (a full barrier), then rings `not_empty` only
//   if a consumer sleeps (the consumer's re-check after announcing itself closes the race).
// take: consumer lock around the dequeue; rings `not_full` only when a pusher waits.
// Counters are relaxed: exact once the queue is quiet.
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
    uint32_t flags;        ///< free for the queue's user
    uint64_t enqueued_ns;  ///< monotonic time of the push
    uint64_t words[CS_TASK_WORDS]; ///< payload: indices, labels, offsets
} cs_task;

_Static_assert(sizeof(cs_task) == 64, "a task is one cache line");

/// A task queue of one group (FIFO). 320 bytes: five cache lines, so that producers,
/// consumers and the doorbells do not share one (the directory keeps queues 64-aligned).
/// Padding is explicit because Swift does not import over-aligned C fields.
///
/// Depth is `reserved - taken`: producers reserve a place (CAS on `reserved`, checking
/// against a per-process copy of `taken` that they refresh only when the queue looks
/// full), consumers bump `taken` under their lock, so no counter is shared by both sides.
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
    uint64_t taken;          ///< tasks dequeued (written under consumer_lock)
    // Line 2: producers.
    uint64_t tail_storage;   ///< struct cds_wfcq_tail
    uint64_t reserved;       ///< places reserved = tasks pushed or being pushed
    uint64_t refused;        ///< nonblock pushes refused on a full queue
    uint64_t waited_full;    ///< blocking pushes that had to wait for room
    uint8_t pad2[32];
    // Line 3: consumers sleep here.
    cs_doorbell not_empty;
    uint64_t wakeups;        ///< consumer sleeps that ended
    uint8_t pad3[48];
    // Line 4: producers sleep here when the queue is full.
    cs_doorbell not_full;
    uint8_t pad4[56];
} cs_task_queue;

_Static_assert(offsetof(cs_task_queue, head_storage) == 64, "consumer line");
_Static_assert(offsetof(cs_task_queue, tail_storage) == 128, "producer line");
_Static_assert(offsetof(cs_task_queue, not_empty) == 192, "consumer doorbell line");
_Static_assert(offsetof(cs_task_queue, not_full) == 256, "producer doorbell line");

/// The directory of queues (section "queues").
typedef struct cs_queue_dir {
    uint32_t count;
    uint32_t capacity;
    uint64_t reserved[7];
    cs_task_queue queues[];
} cs_queue_dir;

_Static_assert(sizeof(cs_task_queue) == 320, "queue layout is read by respite-shm");
_Static_assert(sizeof(cs_queue_dir) == 64, "queue directory layout is read by respite-shm");

/// A zeroed task from the arena allocator (its small-block caches make this cheap even
/// when producers allocate and consumers free); NULL when the arena is full.
cs_task *cs_task_new(cs_arena_header *arena);
/// Returns a task to the arena.
void cs_task_free(cs_arena_header *arena, cs_task *task);

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
