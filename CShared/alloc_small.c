// The small-block layer in front of TLSF: per-process caches and lock-free bins.
//
// A bin is a lock-free stack of *batches*: a batch is a chain of up to
// CS_ALLOC_CACHE_DEPTH free blocks of one size. In a binned block's payload, word 0
// links to the next batch (meaningful in a batch's first block) and word 1 to the next
// block of the same batch; both hold offset / 16, 0 for none. Processes move blocks
// between their cache and the bins a batch at a time, so one compare-and-swap (one cache
// line transfer) pays for several allocations: this is what lets a producer process
// allocate tasks that a consumer process frees without a shared-line round trip each.
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "alloc_internal.h"

#define BATCH 8u

static inline uint64_t *word(cs_arena_header *arena, uint64_t unit, int index) {
    return (uint64_t *)((char *)arena + (unit << 4) + CS_ALLOC_BLOCK_HEADER) + index;
}

static inline void *payload_of(cs_arena_header *arena, uint64_t unit) {
    return (char *)arena + (unit << 4) + CS_ALLOC_BLOCK_HEADER;
}

// Detaches the top batch; returns its first block's unit (offset / 16) or 0.
static uint64_t bin_pop_batch(cs_arena_header *arena, cs_alloc_bin *bin) {
    uint64_t head = __atomic_load_n(&bin->head, __ATOMIC_ACQUIRE);
    while (head >> 32) {
        // The link may be stale if another process took this batch meanwhile; then the
        // tag has moved and the CAS fails, so the value read is never used.
        uint64_t next = __atomic_load_n(word(arena, head >> 32, 0), __ATOMIC_RELAXED);
        uint64_t replacement = (next << 32) | ((head + 1) & 0xffffffffull);
        if (__atomic_compare_exchange_n(&bin->head, &head, replacement, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return head >> 32;
    }
    return 0;
}

// Pushes a batch whose blocks are already chained through word 1.
static void bin_push_batch(cs_arena_header *arena, cs_alloc_bin *bin, uint64_t first) {
    uint64_t *link = word(arena, first, 0);
    uint64_t head = __atomic_load_n(&bin->head, __ATOMIC_RELAXED);
    uint64_t replacement;
    do {
        __atomic_store_n(link, head >> 32, __ATOMIC_RELAXED);
        replacement = (first << 32) | ((head + 1) & 0xffffffffull);
    } while (!__atomic_compare_exchange_n(&bin->head, &head, replacement, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

// Chains the first `count` units of `units` (offsets / 16) into one batch and pushes it.
static void push_cached(cs_arena_header *arena, cs_alloc_bin *bin, const uint32_t *units, uint32_t count) {
    if (count == 0) return;
    for (uint32_t i = 0; i + 1 < count; i++) *word(arena, units[i], 1) = units[i + 1];
    *word(arena, units[count - 1], 1) = 0;
    bin_push_batch(arena, bin, units[0]);
}

// The calling process's cache, if it attached one. A forked child starts without it.
static cs_alloc_cache *own_cache;
static cs_arena_header *own_cache_arena;

static void forget_cache_after_fork(void) {
    own_cache = NULL;
    own_cache_arena = NULL;
}

__attribute__((constructor)) static void register_cache_fork_handler(void) {
    pthread_atfork(NULL, NULL, forget_cache_after_fork);
}

void *cs_small_alloc(cs_arena_header *arena, cs_allocator *c, uint32_t k) {
    cs_alloc_cache *cache = own_cache_arena == arena ? own_cache : NULL;
    if (cache && cache->counts[k]) return payload_of(arena, cache->blocks[k][--cache->counts[k]]);
    uint64_t first = bin_pop_batch(arena, &c->bins[k]);
    if (!first) return NULL;
    uint64_t rest = *word(arena, first, 1);
    if (cache) {
        while (rest && cache->counts[k] < CS_ALLOC_CACHE_DEPTH) {
            cache->blocks[k][cache->counts[k]++] = (uint32_t)rest;
            rest = *word(arena, rest, 1);
        }
    }
    if (rest) bin_push_batch(arena, &c->bins[k], rest);
    return payload_of(arena, first);
}

void cs_small_free(cs_arena_header *arena, cs_allocator *c, uint32_t k, uint64_t block_offset) {
    uint32_t unit = (uint32_t)(block_offset >> 4);
    cs_alloc_cache *cache = own_cache_arena == arena ? own_cache : NULL;
    if (!cache) {
        push_cached(arena, &c->bins[k], &unit, 1);
        return;
    }
    if (cache->counts[k] == CS_ALLOC_CACHE_DEPTH) {
        // Full: hand the older half to the bin as one batch.
        push_cached(arena, &c->bins[k], cache->blocks[k], BATCH);
        for (uint32_t i = BATCH; i < CS_ALLOC_CACHE_DEPTH; i++) cache->blocks[k][i - BATCH] = cache->blocks[k][i];
        cache->counts[k] = CS_ALLOC_CACHE_DEPTH - BATCH;
    }
    cache->blocks[k][cache->counts[k]++] = unit;
}

uint64_t cs_bins_drain_locked(cs_arena_header *arena, cs_allocator *c) {
    uint64_t drained = 0;
    for (uint32_t k = 0; k < CS_ALLOC_BIN_COUNT; k++) {
        cs_alloc_bin *bin = &c->bins[k];
        // Detach the whole stack with one CAS that also bumps the tag.
        uint64_t head = __atomic_load_n(&bin->head, __ATOMIC_ACQUIRE);
        while (head >> 32) {
            if (__atomic_compare_exchange_n(&bin->head, &head, (head + 1) & 0xffffffffull, 1, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                break;
        }
        for (uint64_t batch = head >> 32; batch;) {
            uint64_t next_batch = *word(arena, batch, 0);
            for (uint64_t unit = batch; unit;) {
                uint64_t next = *word(arena, unit, 1);
                cs_tlsf_free_locked(arena, c, unit << 4);
                unit = next;
                drained++;
            }
            batch = next_batch;
        }
    }
    return drained;
}

uint64_t cs_alloc_drain_bins(cs_arena_header *arena) {
    cs_allocator *c = (cs_allocator *)((char *)arena + arena->allocator_offset);
    (void)cs_lock_acquire(&c->lock);
    uint64_t n = cs_bins_drain_locked(arena, c);
    cs_lock_release(&c->lock);
    return n;
}

static cs_alloc_cache *cache_at(cs_arena_header *arena, uint32_t slot) {
    cs_allocator *c = (cs_allocator *)((char *)arena + arena->allocator_offset);
    if (!c->caches_offset || slot >= c->cache_count) return NULL;
    return (cs_alloc_cache *)((char *)arena + c->caches_offset) + slot;
}

int cs_alloc_caches_init(cs_arena_header *arena, uint32_t count) {
    cs_alloc_cache *caches = cs_arena_add_section(arena, "alloccache", (uint64_t)count * sizeof(cs_alloc_cache),
                                                  CS_SECTION_ALLOC_CACHES, 1);
    if (!caches) return ENOMEM;
    cs_allocator *c = (cs_allocator *)((char *)arena + arena->allocator_offset);
    c->caches_offset = (uint64_t)((char *)caches - (char *)arena);
    c->cache_count = count;
    return 0;
}

// Moves every block of a cache to the bins, one batch per size class.
static uint64_t empty_cache(cs_arena_header *arena, cs_alloc_cache *cache) {
    cs_allocator *c = (cs_allocator *)((char *)arena + arena->allocator_offset);
    uint64_t n = 0;
    for (uint32_t k = 0; k < CS_ALLOC_BIN_COUNT; k++) {
        uint32_t count = cache->counts[k] <= CS_ALLOC_CACHE_DEPTH ? cache->counts[k] : 0;
        push_cached(arena, &c->bins[k], cache->blocks[k], count);
        cache->counts[k] = 0;
        n += count;
    }
    return n;
}

int cs_alloc_cache_attach(cs_arena_header *arena, uint32_t slot) {
    cs_alloc_cache *cache = cache_at(arena, slot);
    if (!cache) return -1;
    if (cache->owner_pid != 0) empty_cache(arena, cache); // a previous owner's leftovers
    cache->owner_pid = (int32_t)getpid();
    own_cache = cache;
    own_cache_arena = arena;
    return 0;
}

void cs_alloc_cache_detach(void) {
    if (!own_cache_arena) return;
    empty_cache(own_cache_arena, own_cache);
    own_cache->owner_pid = 0;
    own_cache = NULL;
    own_cache_arena = NULL;
}

uint64_t cs_alloc_cache_reclaim(cs_arena_header *arena, uint32_t slot) {
    cs_alloc_cache *cache = cache_at(arena, slot);
    if (!cache) return 0;
    uint64_t n = empty_cache(arena, cache);
    cache->owner_pid = 0;
    return n;
}
