// Task queues: liburcu wfcqueue + our consumer lock + futex doorbells; task pool on
// liburcu's lock-free stack.
#include "cs_queue.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <urcu/lfstack.h>
#include <urcu/wfcqueue.h>

#include "cs_alloc.h"

#ifdef _LGPL_SOURCE
#error "liburcu is linked dynamically: do not define _LGPL_SOURCE"
#endif

_Static_assert(sizeof(struct __cds_wfcq_head) == sizeof(uint64_t), "head storage");
_Static_assert(sizeof(struct cds_wfcq_tail) == sizeof(uint64_t), "tail storage");
_Static_assert(sizeof(struct cds_wfcq_node) == sizeof(uint64_t), "task link storage");
_Static_assert(sizeof(struct __cds_lfs_stack) == sizeof(uint64_t), "stack storage");
_Static_assert(offsetof(cs_task, link) == 0, "task link first");

#define HEAD(q) ((struct __cds_wfcq_head *)&(q)->head_storage)
#define TAIL(q) ((struct cds_wfcq_tail *)&(q)->tail_storage)
#define NODE(t) ((struct cds_wfcq_node *)&(t)->link)
#define STACK(p) ((struct __cds_lfs_stack *)&(p)->stack_storage)

// Spinning a little before sleeping saves a futex round trip when the producer is
// about to push; kept short because two cores are shared by all processes.
#define TAKE_SPINS 64

uint64_t cs_task_pool_bytes(uint32_t capacity) {
    return sizeof(cs_task_pool) + 64 + (uint64_t)capacity * sizeof(cs_task);
}

int cs_task_pool_init(cs_arena_header *arena, cs_task_pool *pool, uint32_t capacity) {
    memset(pool, 0, sizeof(*pool));
    int rc = cs_lock_init(&pool->pop_lock);
    if (rc != 0) return rc;
    __cds_lfs_init(STACK(pool));
    uintptr_t first = ((uintptr_t)(pool + 1) + 63) & ~(uintptr_t)63;
    cs_task *tasks = (cs_task *)first;
    pool->capacity = capacity;
    pool->first_offset = (uint64_t)((char *)tasks - (char *)arena);
    pool->end_offset = pool->first_offset + (uint64_t)capacity * sizeof(cs_task);
    for (uint32_t i = capacity; i > 0; i--) {
        cs_task *t = &tasks[i - 1];
        memset(t, 0, sizeof(*t));
        t->flags = CS_TASK_POOLED;
        cds_lfs_push(STACK(pool), (struct cds_lfs_node *)&t->link);
    }
    return 0;
}

cs_task *cs_task_new(cs_arena_header *arena, cs_task_pool *pool) {
    (void)cs_lock_acquire(&pool->pop_lock);
    struct cds_lfs_node *node = __cds_lfs_pop(STACK(pool));
    cs_lock_release(&pool->pop_lock);
    cs_task *t;
    if (node) {
        t = (cs_task *)node;
        __atomic_add_fetch(&pool->in_use, 1, __ATOMIC_RELAXED);
        memset(t, 0, sizeof(*t));
        t->flags = CS_TASK_POOLED;
    } else {
        t = cs_alloc(arena, sizeof(cs_task));
        if (!t) return NULL;
        __atomic_add_fetch(&pool->overflow, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&pool->overflow_live, 1, __ATOMIC_RELAXED);
        memset(t, 0, sizeof(*t));
    }
    return t;
}

void cs_task_free(cs_arena_header *arena, cs_task_pool *pool, cs_task *task) {
    if (!task) return;
    if (task->flags & CS_TASK_POOLED) {
        __atomic_sub_fetch(&pool->in_use, 1, __ATOMIC_RELAXED);
        cds_lfs_push(STACK(pool), (struct cds_lfs_node *)&task->link);
    } else {
        __atomic_sub_fetch(&pool->overflow_live, 1, __ATOMIC_RELAXED);
        cs_free(arena, task);
    }
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

// Reserves a place in the queue; 0 when the queue is at its bound.
static int reserve(cs_task_queue *q) {
    int64_t depth = __atomic_load_n(&q->depth, __ATOMIC_RELAXED);
    while (depth < (int64_t)q->max_depth) {
        if (__atomic_compare_exchange_n(&q->depth, &depth, depth + 1, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return 1;
    }
    return 0;
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
    __atomic_add_fetch(&q->pushed, 1, __ATOMIC_RELAXED);
    cs_doorbell_ring(&q->not_empty, 1);
    return CS_QUEUE_OK;
}

cs_task *cs_queue_try_take(cs_task_queue *q) {
    if (cds_wfcq_empty(HEAD(q), TAIL(q))) return NULL;
    (void)cs_lock_acquire(&q->consumer_lock);
    struct cds_wfcq_node *node = __cds_wfcq_dequeue_blocking(HEAD(q), TAIL(q));
    cs_lock_release(&q->consumer_lock);
    if (!node) return NULL;
    __atomic_sub_fetch(&q->depth, 1, __ATOMIC_ACQ_REL);
    __atomic_add_fetch(&q->taken, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&q->not_full.sleepers, __ATOMIC_SEQ_CST) != 0) cs_doorbell_ring(&q->not_full, 1);
    return (cs_task *)node;
}

cs_task *cs_queue_take(cs_task_queue *q, int64_t timeout_ns) {
    uint64_t deadline = timeout_ns >= 0 ? cs_now_ns() + (uint64_t)timeout_ns : 0;
    for (;;) {
        uint32_t seen = cs_doorbell_seq(&q->not_empty);
        cs_task *t = cs_queue_try_take(q);
        if (t) return t;
        for (int i = 0; i < TAKE_SPINS; i++) {
            __builtin_ia32_pause();
            if (!cds_wfcq_empty(HEAD(q), TAIL(q))) break;
        }
        if ((t = cs_queue_try_take(q))) return t;
        int64_t remaining = -1;
        if (timeout_ns >= 0) {
            uint64_t now = cs_now_ns();
            if (now >= deadline) return NULL;
            remaining = (int64_t)(deadline - now);
        }
        cs_doorbell_prepare(&q->not_empty);
        if (!cds_wfcq_empty(HEAD(q), TAIL(q))) {
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
    out->depth = __atomic_load_n(&q->depth, __ATOMIC_RELAXED);
    out->pushed = __atomic_load_n(&q->pushed, __ATOMIC_RELAXED);
    out->taken = __atomic_load_n(&q->taken, __ATOMIC_RELAXED);
    out->refused = __atomic_load_n(&q->refused, __ATOMIC_RELAXED);
    out->waited_full = __atomic_load_n(&q->waited_full, __ATOMIC_RELAXED);
    out->wakeups = __atomic_load_n(&q->wakeups, __ATOMIC_RELAXED);
    out->sleeping_consumers = __atomic_load_n(&q->not_empty.sleepers, __ATOMIC_RELAXED);
    out->waiting_producers = __atomic_load_n(&q->not_full.sleepers, __ATOMIC_RELAXED);
}
