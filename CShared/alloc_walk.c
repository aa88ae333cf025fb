// Walking the allocator: blocks, bins and caches. For respite-shm (read-only, no lock,
// any address, every offset validated) and for exact checks in a server (under the lock).
#include "cs_alloc.h"

#include <stdio.h>
#include <string.h>

static int walk(const void *base, uint64_t mapped_size, cs_alloc_report *out,
                cs_alloc_visitor visitor, void *context) {
    memset(out, 0, sizeof(*out));
    const cs_arena_header *arena = (const cs_arena_header *)base;
    const char *bytes = (const char *)base;
#define STOP(at, ...)                                            \
    do {                                                         \
        out->error_offset = (at);                                \
        snprintf(out->error, sizeof(out->error), __VA_ARGS__);   \
        return -1;                                               \
    } while (0)
    if (arena->allocator_offset > mapped_size || mapped_size - arena->allocator_offset < sizeof(cs_allocator))
        STOP(arena->allocator_offset, "allocator control block out of bounds");
    const cs_allocator *c = (const cs_allocator *)(bytes + arena->allocator_offset);
    uint64_t start = c->heap_start, end = c->heap_end;
    if (start < sizeof(cs_arena_header) || end > mapped_size - CS_ALLOC_BLOCK_HEADER || start > end || (start & 15))
        STOP(start, "heap bounds [%llu, %llu) invalid", (unsigned long long)start, (unsigned long long)end);

    uint64_t offset = start, prev = 0;
    // Each block takes at least 32 bytes, so this bounds the walk even on garbage.
    uint64_t limit = (end - start) / 32 + 2;
    while (offset < end) {
        if (limit-- == 0) STOP(offset, "too many blocks: a cycle in the heap");
        if (offset & 15) STOP(offset, "misaligned block");
        const cs_block *b = (const cs_block *)(bytes + offset);
        uint64_t size = b->size_flags & ~CS_BLOCK_FLAGS;
        if (b->prev_phys != prev) STOP(offset, "block's previous link is %llu, expected %llu",
                                       (unsigned long long)b->prev_phys, (unsigned long long)prev);
        if (size < 16 || size > end - offset - CS_ALLOC_BLOCK_HEADER)
            STOP(offset, "block size %llu runs past the heap", (unsigned long long)size);
        out->blocks++;
        if (b->size_flags & CS_BLOCK_FREE) {
            out->free_blocks++;
            out->free_bytes += size;
            if (size > out->largest_free) out->largest_free = size;
        } else {
            out->used_blocks++;
            out->used_bytes += size;
            const cs_alloc_debug_head *debug = NULL;
            if (c->debug && size >= CS_ALLOC_DEBUG_HEAD + CS_ALLOC_DEBUG_TAIL) {
                debug = (const cs_alloc_debug_head *)((const char *)b + CS_ALLOC_BLOCK_HEADER);
                uint64_t tail = 0;
                if (debug->fence != CS_ALLOC_FENCE_HEAD ||
                    debug->requested > size - CS_ALLOC_DEBUG_HEAD - CS_ALLOC_DEBUG_TAIL) {
                    out->fence_errors++;
                } else {
                    memcpy(&tail, (const char *)debug + CS_ALLOC_DEBUG_HEAD + debug->requested, sizeof(tail));
                    if (tail != CS_ALLOC_FENCE_TAIL) out->fence_errors++;
                }
            }
            if (visitor) visitor(context, offset + CS_ALLOC_BLOCK_HEADER, size, debug);
        }
        prev = offset;
        offset += CS_ALLOC_BLOCK_HEADER + size;
    }
    if (offset != end) STOP(offset, "walk ended at %llu, not at the sentinel %llu",
                            (unsigned long long)offset, (unsigned long long)end);
#undef STOP
    return 0;
}

int cs_alloc_walk(const void *base, uint64_t mapped_size, cs_alloc_report *out) {
    return walk(base, mapped_size, out, NULL, NULL);
}

int cs_alloc_check(cs_arena_header *arena, cs_alloc_report *out) {
    cs_allocator *c = (cs_allocator *)((char *)arena + arena->allocator_offset);
    cs_alloc_drain_bins(arena);
    (void)cs_lock_acquire(&c->lock);
    int rc = walk(arena, arena->size, out, NULL, NULL);
    cs_lock_release(&c->lock);
    return rc;
}

void cs_alloc_visit_live(cs_arena_header *arena, cs_alloc_visitor visitor, void *context) {
    cs_allocator *c = (cs_allocator *)((char *)arena + arena->allocator_offset);
    cs_alloc_report report;
    cs_alloc_drain_bins(arena);
    (void)cs_lock_acquire(&c->lock);
    walk(arena, arena->size, &report, visitor, context);
    cs_lock_release(&c->lock);
}

int cs_alloc_binned(const void *base, uint64_t mapped_size, uint64_t *blocks, uint64_t *bytes) {
    const cs_arena_header *arena = (const cs_arena_header *)base;
    *blocks = 0;
    *bytes = 0;
    if (arena->allocator_offset > mapped_size || mapped_size - arena->allocator_offset < sizeof(cs_allocator))
        return -1;
    const cs_allocator *c = (const cs_allocator *)((const char *)base + arena->allocator_offset);
    uint64_t budget = mapped_size / 32; // no walk can visit more blocks: bounds any cycle
    for (uint32_t k = 0; k < CS_ALLOC_BIN_COUNT; k++) {
        uint64_t batch = __atomic_load_n(&c->bins[k].head, __ATOMIC_ACQUIRE) >> 32;
        while (batch) {
            uint64_t unit = batch;
            const uint64_t *first = NULL;
            while (unit) {
                uint64_t offset = unit << 4;
                if (budget-- == 0 || offset < c->heap_start || offset >= c->heap_end ||
                    offset + CS_ALLOC_BLOCK_HEADER + 16 > mapped_size)
                    return -1;
                const uint64_t *words = (const uint64_t *)((const char *)base + offset + CS_ALLOC_BLOCK_HEADER);
                if (!first) first = words;
                *blocks += 1;
                *bytes += (uint64_t)(k + 1) * CS_ALLOC_ALIGN;
                unit = __atomic_load_n(&words[1], __ATOMIC_RELAXED);
            }
            batch = __atomic_load_n(&first[0], __ATOMIC_RELAXED);
        }
    }
    return 0;
}

int cs_alloc_cached(const void *base, uint64_t mapped_size, uint64_t *blocks, uint64_t *bytes) {
    const cs_arena_header *arena = (const cs_arena_header *)base;
    *blocks = 0;
    *bytes = 0;
    if (arena->allocator_offset > mapped_size || mapped_size - arena->allocator_offset < sizeof(cs_allocator))
        return -1;
    const cs_allocator *c = (const cs_allocator *)((const char *)base + arena->allocator_offset);
    if (!c->caches_offset) return 0;
    if (c->caches_offset > mapped_size || (mapped_size - c->caches_offset) / sizeof(cs_alloc_cache) < c->cache_count)
        return -1;
    const cs_alloc_cache *caches = (const cs_alloc_cache *)((const char *)base + c->caches_offset);
    for (uint32_t slot = 0; slot < c->cache_count; slot++) {
        for (uint32_t k = 0; k < CS_ALLOC_BIN_COUNT; k++) {
            uint32_t n = caches[slot].counts[k];
            if (n > CS_ALLOC_CACHE_DEPTH) return -1;
            *blocks += n;
            *bytes += (uint64_t)n * (k + 1) * CS_ALLOC_ALIGN;
        }
    }
    return 0;
}
