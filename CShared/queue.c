// Task queues: liburcu wfcqueue + our consumer lock + futex doorbells.
#include "cs_queue.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <urcu/wfcqueue.h>

#include "cs_alloc.h"

#ifdef _LGPL_SOURCE
#error "liburcu is linked dynamically: do not define _LGPL_SOURCE"
#endif

_Static_assert(sizeof(struct __cds_wfcq_head) == sizeof(uint64_t), "head storage");
_Static_assert(sizeof(struct cds_wfcq_tail) == sizeof(uint64_t), "tail storage");
_Static_assert(sizeof(struct cds_wfcq_node) == sizeof(uint64_t), "task link storage");
_Static_assert(offsetof(cs_task, link) == 0, "task link first");

#define HEAD(q) ((struct __cds_wfcq_head *)&(q)->head_storage)
#define TAIL(q) ((struct cds_wfcq_tail *)&(q)->tail_storage)
#define NODE(t) ((struct cds_wfcq_node *)&(t)->link)

// A consumer that finds the queue empty polls the head for a little while before it
// sleeps: a producer in full flow then never pays for a futex wake. It yields now and
// then, because two cores are shared by every process of the server.
#define TAKE_SPINS 512
#define TAKE_YIELD_EVERY 64

// One turn of a spin-wait: tells the core that this is a polling loop (the x86 `pause`
// and the Arm `yield` hints free the pipeline for the sibling hardware thread and cost
// less power); elsewhere only a compiler barrier, so the loop still re-reads memory.
static inline void spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

cs_task *cs_task_new(cs_arena_header *arena) {
    cs_task *t = cs_alloc(arena, sizeof(cs_task));
    if (t) memset(t, 0, sizeof(*t));
    return t;
}

void cs_task_free(cs_arena_header *arena, cs_task *task) {
    cs_free(arena, task);
}

uint64_t cs_queue_dir_bytes(uint32_t capacity) {
    return sizeof(cs_queue_dir) + (uint64_t)capacity * sizeof(cs_task_queue);
}

void cs_queue_dir_init(cs_queue_dir *dir, uint32_t capacity) {
    memset(dir, 0, cs_queue_dir_bytes(capacity));
    dir->capacity = capacity;
}

cs_task_queue *cs_queue_add(cs_queue_dir *dir, const char *name, uint64_t max_depth,
                            uint32_t workers, uint32_t nonblock, uint32_t usleep_us) {
    if (dir->count >= dir->capacity || strlen(name) >= CS_QUEUE_NAME_MAX) return NULL;
    cs_task_queue *q = &dir->queues[dir->count];
    memset(q, 0, sizeof(*q));
    strcpy(q->name, name);
    q->max_depth = max_depth ? max_depth : 1;
    q->workers = workers;
    q->nonblock = nonblock ? 1 : 0;
    q->usleep_us = usleep_us;
    q->index = dir->count;
    __cds_wfcq_init(HEAD(q), TAIL(q));
    if (cs_lock_init(&q->consumer_lock) != 0) return NULL;
    cs_doorbell_init(&q->not_empty);
    cs_doorbell_init(&q->not_full);
    __atomic_store_n(&dir->count, dir->count + 1, __ATOMIC_RELEASE);
    return q;
}

cs_task_queue *cs_queue_find(cs_queue_dir *dir, const char *name) {
    for (uint32_t i = 0; i < dir->count && i < dir->capacity; i++) {
        if (strncmp(dir->queues[i].name, name, CS_QUEUE_NAME_MAX) == 0) return &dir->queues[i];
    }
    return NULL;
}

// What this producer last read of each queue's `taken`. `taken` only grows, so an old
// copy only makes the queue look fuller than it is: the bound is never exceeded, and the
// consumers' line is read once per `max_depth` pushes instead of on every push.
static _Thread_local struct {
    const cs_task_queue *queue;
    uint64_t taken;
} known_taken[64];

// Reserves a place in the queue; 0 when the queue is at its bound.
static int reserve(cs_task_queue *q) {
    __typeof__(known_taken[0]) *known = &known_taken[q->index & 63];
    if (known->queue != q) {
        known->queue = q;
        known->taken = 0;
    }
    uint64_t r = __atomic_load_n(&q->reserved, __ATOMIC_RELAXED);
    for (;;) {
        if (r - known->taken >= q->max_depth) {
            known->taken = __atomic_load_n(&q->taken, __ATOMIC_ACQUIRE);
            if (r - known->taken >= q->max_depth) return 0;
        }
        if (__atomic_compare_exchange_n(&q->reserved, &r, r + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return 1;
    }
}

int cs_queue_push(cs_task_queue *q, cs_task *task, int nonblock) {
    if (!reserve(q)) {
        if (nonblock) {
            __atomic_add_fetch(&q->refused, 1, __ATOMIC_RELAXED);
            return CS_QUEUE_FULL;
        }
        __atomic_add_fetch(&q->waited_full, 1, __ATOMIC_RELAXED);
        for (;;) {
            uint32_t seen = cs_doorbell_seq(&q->not_full);
            if (reserve(q)) break;
            cs_doorbell_prepare(&q->not_full);
            if (reserve(q)) {
                cs_doorbell_cancel(&q->not_full);
                break;
            }
            cs_doorbell_sleep(&q->not_full, seen, 100000000LL);
        }
    }
    task->enqueued_ns = cs_now_ns();
    cds_wfcq_node_init(NODE(task));
    cds_wfcq_enqueue(HEAD(q), TAIL(q), NODE(task));
    cs_doorbell_ring(&q->not_empty, 1);
    return CS_QUEUE_OK;
}

static inline int looks_empty(cs_task_queue *q) {
    // The head's link alone says "something is there" without touching the producers'
    // cache line; only when it is NULL do we ask liburcu (which also reads the tail).
    return __atomic_load_n(&HEAD(q)->node.next, __ATOMIC_ACQUIRE) == NULL && cds_wfcq_empty(HEAD(q), TAIL(q));
}

cs_task *cs_queue_try_take(cs_task_queue *q) {
    if (looks_empty(q)) return NULL;
    (void)cs_lock_acquire(&q->consumer_lock);
    struct cds_wfcq_node *node = __cds_wfcq_dequeue_blocking(HEAD(q), TAIL(q));
    if (node) __atomic_store_n(&q->taken, q->taken + 1, __ATOMIC_RELEASE);
    cs_lock_release(&q->consumer_lock);
    if (!node) return NULL;
    // Producers waiting for room are woken in one go once the queue has drained to half
    // its bound, not one by one on every take: one futex call per half queue.
    if (__atomic_load_n(&q->not_full.sleepers, __ATOMIC_SEQ_CST) != 0 &&
        __atomic_load_n(&q->reserved, __ATOMIC_RELAXED) - q->taken <= q->max_depth / 2)
        cs_doorbell_ring(&q->not_full, 1 << 30);
    return (cs_task *)node;
}

cs_task *cs_queue_take(cs_task_queue *q, int64_t timeout_ns) {
    uint64_t deadline = timeout_ns >= 0 ? cs_now_ns() + (uint64_t)timeout_ns : 0;
    for (;;) {
        cs_task *t = cs_queue_try_take(q);
        if (t) return t;
        for (int i = 1; i <= TAKE_SPINS && looks_empty(q); i++) {
            if (i % TAKE_YIELD_EVERY == 0) sched_yield();
            else spin_pause();
        }
        uint32_t seen = cs_doorbell_seq(&q->not_empty);
        if ((t = cs_queue_try_take(q))) return t;
        int64_t remaining = -1;
        if (timeout_ns >= 0) {
            uint64_t now = cs_now_ns();
            if (now >= deadline) return NULL;
            remaining = (int64_t)(deadline - now);
        }
        cs_doorbell_prepare(&q->not_empty);
        if (!looks_empty(q)) {
            cs_doorbell_cancel(&q->not_empty);
            continue;
        }
        int why = cs_doorbell_sleep(&q->not_empty, seen, remaining);
        __atomic_add_fetch(&q->wakeups, 1, __ATOMIC_RELAXED);
        if (why == EINTR) {
            // A signal (shutdown, child exit) wants the caller to look at its state.
            return cs_queue_try_take(q);
        }
    }
}

void cs_queue_wake_all(cs_task_queue *q) {
    cs_doorbell_ring(&q->not_empty, 1 << 30);
    cs_doorbell_ring(&q->not_full, 1 << 30);
}

void cs_queue_stats_get(const cs_task_queue *q, cs_queue_stats *out) {
    out->pushed = __atomic_load_n(&q->reserved, __ATOMIC_RELAXED);
    out->taken = __atomic_load_n(&q->taken, __ATOMIC_RELAXED);
    out->depth = (int64_t)(out->pushed - out->taken);
    out->refused = __atomic_load_n(&q->refused, __ATOMIC_RELAXED);
    out->waited_full = __atomic_load_n(&q->waited_full, __ATOMIC_RELAXED);
    out->wakeups = __atomic_load_n(&q->wakeups, __ATOMIC_RELAXED);
    out->sleeping_consumers = __atomic_load_n(&q->not_empty.sleepers, __ATOMIC_RELAXED);
    out->waiting_producers = __atomic_load_n(&q->not_full.sleepers, __ATOMIC_RELAXED);
}
