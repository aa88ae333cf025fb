// TLSF allocator inside the arena. All links are offsets from the arena start.
#include "cs_alloc.h"
#include "alloc_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MIN_PAYLOAD 16ull
#define SMALL_LIMIT (1ull << (CS_ALLOC_SL_LOG2 + 4)) /* 512: below it, 16-byte steps */

static inline cs_allocator *control_of(const cs_arena_header *arena) {
    return (cs_allocator *)((char *)arena + arena->allocator_offset);
}
static inline cs_block *block_at(const cs_arena_header *arena, uint64_t offset) {
    return (cs_block *)((char *)arena + offset);
}
static inline uint64_t offset_of(const cs_arena_header *arena, const void *p) {
    return (uint64_t)((const char *)p - (const char *)arena);
}
static inline uint64_t block_size(const cs_block *b) { return b->size_flags & ~CS_BLOCK_FLAGS; }
static inline int block_is_free(const cs_block *b) { return (b->size_flags & CS_BLOCK_FREE) != 0; }
static inline uint64_t next_phys_offset(uint64_t offset, const cs_block *b) {
    return offset + CS_ALLOC_BLOCK_HEADER + block_size(b);
}
static inline int fls64(uint64_t v) { return 63 - __builtin_clzll(v); }

// Maps a size to its (first level, second level) list.
static void mapping(uint64_t size, uint32_t *fl, uint32_t *sl) {
    if (size < SMALL_LIMIT) {
        *fl = 0;
        *sl = (uint32_t)(size / CS_ALLOC_ALIGN);
    } else {
        int top = fls64(size);
        *sl = (uint32_t)(size >> (top - CS_ALLOC_SL_LOG2)) ^ CS_ALLOC_SL_COUNT;
        *fl = (uint32_t)(top - (CS_ALLOC_SL_LOG2 + 4) + 1);
    }
}

// Rounds a request up so that any block in the list it maps to is large enough.
static uint64_t round_for_search(uint64_t size) {
    if (size >= SMALL_LIMIT) size += (1ull << (fls64(size) - CS_ALLOC_SL_LOG2)) - 1;
    return size;
}

static void insert_free(cs_arena_header *arena, cs_allocator *c, uint64_t offset) {
    cs_block *b = block_at(arena, offset);
    uint32_t fl, sl;
    mapping(block_size(b), &fl, &sl);
    uint64_t head = c->heads[fl][sl];
    b->next_free = head;
    b->prev_free = 0;
    if (head) block_at(arena, head)->prev_free = offset;
    c->heads[fl][sl] = offset;
    c->fl_bitmap |= 1ull << fl;
    c->sl_bitmap[fl] |= 1u << sl;
    b->size_flags |= CS_BLOCK_FREE;
    c->counters.free_blocks++;
    c->counters.free_bytes += block_size(b);
}

static void remove_free(cs_arena_header *arena, cs_allocator *c, uint64_t offset) {
    cs_block *b = block_at(arena, offset);
    uint32_t fl, sl;
    mapping(block_size(b), &fl, &sl);
    if (b->prev_free) block_at(arena, b->prev_free)->next_free = b->next_free;
    else c->heads[fl][sl] = b->next_free;
    if (b->next_free) block_at(arena, b->next_free)->prev_free = b->prev_free;
    if (c->heads[fl][sl] == 0) {
        c->sl_bitmap[fl] &= ~(1u << sl);
        if (c->sl_bitmap[fl] == 0) c->fl_bitmap &= ~(1ull << fl);
    }
    b->size_flags &= ~CS_BLOCK_FREE;
    c->counters.free_blocks--;
    c->counters.free_bytes -= block_size(b);
}

// Finds a free block of at least `size` bytes in O(1); 0 when none.
static uint64_t find_free(cs_allocator *c, uint64_t size) {
    uint64_t search = round_for_search(size);
    uint32_t fl, sl;
    mapping(search, &fl, &sl);
    if (fl >= CS_ALLOC_FL_COUNT) return 0;
    uint32_t sl_map = c->sl_bitmap[fl] & (~0u << sl);
    if (!sl_map) {
        uint64_t fl_map = (fl + 1 < 64) ? c->fl_bitmap & (~0ull << (fl + 1)) : 0;
        if (!fl_map) return 0;
        fl = (uint32_t)__builtin_ctzll(fl_map);
        sl_map = c->sl_bitmap[fl];
    }
    sl = (uint32_t)__builtin_ctz(sl_map);
    return c->heads[fl][sl];
}

int cs_alloc_init(cs_arena_header *arena, uint64_t control_offset, uint64_t heap_start,
                  uint64_t heap_end, int debug) {
    arena->allocator_offset = control_offset;
    cs_allocator *c = control_of(arena);
    memset(c, 0, sizeof(*c));
    int rc = cs_lock_init(&c->lock);
    if (rc != 0) return rc;
    c->debug = debug ? 1 : 0;
    heap_start = (heap_start + 15) & ~15ull;
    heap_end &= ~15ull;
    // One big free block, then a zero-sized used sentinel that stops coalescing.
    uint64_t sentinel = heap_end - CS_ALLOC_BLOCK_HEADER;
    c->heap_start = heap_start;
    c->heap_end = sentinel;
    cs_block *first = block_at(arena, heap_start);
    first->prev_phys = 0;
    first->size_flags = sentinel - heap_start - CS_ALLOC_BLOCK_HEADER;
    cs_block *end = block_at(arena, sentinel);
    end->prev_phys = heap_start;
    end->size_flags = 0;
    c->counters.heap_bytes = sentinel - heap_start;
    insert_free(arena, c, heap_start);
    return 0;
}

static void lock_allocator(cs_allocator *c) {
    // A recovered lock means a process died mid-operation; the counters let
    // respite-shm show it (lock.recoveries) and cs_alloc_check verifies the heap.
    (void)cs_lock_acquire(&c->lock);
}

static void *alloc_locked(cs_arena_header *arena, cs_allocator *c, uint64_t payload) {
    uint64_t offset = find_free(c, payload);
    if (!offset && cs_bins_drain_locked(arena, c) > 0) offset = find_free(c, payload);
    if (!offset) {
        c->counters.failed_allocs++;
        return NULL;
    }
    remove_free(arena, c, offset);
    cs_block *b = block_at(arena, offset);
    uint64_t have = block_size(b);
    if (have >= payload + CS_ALLOC_BLOCK_HEADER + MIN_PAYLOAD) {
        uint64_t rest = offset + CS_ALLOC_BLOCK_HEADER + payload;
        cs_block *r = block_at(arena, rest);
        r->prev_phys = offset;
        r->size_flags = have - payload - CS_ALLOC_BLOCK_HEADER;
        block_at(arena, next_phys_offset(rest, r))->prev_phys = rest;
        b->size_flags = payload;
        insert_free(arena, c, rest);
    }
    c->counters.used_bytes += block_size(b);
    if (c->counters.used_bytes > c->counters.peak_used_bytes) c->counters.peak_used_bytes = c->counters.used_bytes;
    c->counters.live_allocs++;
    c->counters.total_allocs++;
    return (char *)b + CS_ALLOC_BLOCK_HEADER;
}

static uint64_t payload_for(uint64_t request, int debug) {
    if (debug) request += CS_ALLOC_DEBUG_HEAD + CS_ALLOC_DEBUG_TAIL;
    uint64_t size = (request + CS_ALLOC_ALIGN - 1) & ~(uint64_t)(CS_ALLOC_ALIGN - 1);
    return size < MIN_PAYLOAD ? MIN_PAYLOAD : size;
}

void *cs_alloc_at(cs_arena_header *arena, size_t size, const char *file, uint32_t line) {
    cs_allocator *c = control_of(arena);
    if (size > arena->size) return NULL;
    uint64_t payload = payload_for(size, c->debug);
    if (payload <= CS_ALLOC_BIN_MAX_PAYLOAD && !c->debug) {
        void *p = cs_small_alloc(arena, c, (uint32_t)(payload / CS_ALLOC_ALIGN - 1));
        if (p) return p;
    }
    lock_allocator(c);
    char *p = alloc_locked(arena, c, payload);
    cs_lock_release(&c->lock);
    if (!p || !c->debug) return p;

    cs_alloc_debug_head *head = (cs_alloc_debug_head *)p;
    head->fence = CS_ALLOC_FENCE_HEAD;
    head->line = line;
    head->requested = (uint32_t)size;
    memset(head->file, 0, sizeof(head->file));
    if (file) {
        size_t n = strlen(file);
        const char *tail = n > sizeof(head->file) - 1 ? file + n - (sizeof(head->file) - 1) : file;
        memcpy(head->file, tail, strlen(tail));
    }
    uint64_t fence = CS_ALLOC_FENCE_TAIL;
    memcpy(p + CS_ALLOC_DEBUG_HEAD + size, &fence, sizeof(fence));
    return p + CS_ALLOC_DEBUG_HEAD;
}

void *cs_alloc(cs_arena_header *arena, size_t size) {
    return cs_alloc_at(arena, size, NULL, 0);
}

static int debug_fences_ok(const char *payload) {
    const cs_alloc_debug_head *head = (const cs_alloc_debug_head *)payload;
    if (head->fence != CS_ALLOC_FENCE_HEAD) return 0;
    uint64_t tail;
    memcpy(&tail, payload + CS_ALLOC_DEBUG_HEAD + head->requested, sizeof(tail));
    return tail == CS_ALLOC_FENCE_TAIL;
}

// Returns a used block to the TLSF lists, coalescing it. The lock is held.
void cs_tlsf_free_locked(cs_arena_header *arena, cs_allocator *c, uint64_t offset) {
    cs_block *b = block_at(arena, offset);
    c->counters.used_bytes -= block_size(b);
    c->counters.live_allocs--;
    c->counters.total_frees++;

    // Merge with the next block, then with the previous one.
    uint64_t next = next_phys_offset(offset, b);
    cs_block *n = block_at(arena, next);
    if (block_is_free(n)) {
        remove_free(arena, c, next);
        b->size_flags = block_size(b) + CS_ALLOC_BLOCK_HEADER + block_size(n);
        block_at(arena, next_phys_offset(offset, b))->prev_phys = offset;
    }
    if (b->prev_phys) {
        cs_block *p = block_at(arena, b->prev_phys);
        if (block_is_free(p)) {
            uint64_t prev = b->prev_phys;
            remove_free(arena, c, prev);
            p->size_flags = block_size(p) + CS_ALLOC_BLOCK_HEADER + block_size(b);
            block_at(arena, next_phys_offset(prev, p))->prev_phys = prev;
            offset = prev;
        }
    }
    insert_free(arena, c, offset);
}

void cs_free(cs_arena_header *arena, void *ptr) {
    if (!ptr) return;
    cs_allocator *c = control_of(arena);
    char *payload = (char *)ptr;
    if (c->debug) payload -= CS_ALLOC_DEBUG_HEAD;
    uint64_t offset = offset_of(arena, payload) - CS_ALLOC_BLOCK_HEADER;
    uint64_t size = block_size(block_at(arena, offset));
    if (!c->debug && size <= CS_ALLOC_BIN_MAX_PAYLOAD) {
        cs_small_free(arena, c, (uint32_t)(size / CS_ALLOC_ALIGN - 1), offset);
        return;
    }

    lock_allocator(c);
    if (c->debug && !debug_fences_ok(payload)) {
        c->counters.fence_errors++;
        fprintf(stderr, "respite: arena fence broken at offset %llu (allocated at %.16s:%u)\n",
                (unsigned long long)offset, ((cs_alloc_debug_head *)payload)->file,
                ((cs_alloc_debug_head *)payload)->line);
    }
    cs_tlsf_free_locked(arena, c, offset);
    cs_lock_release(&c->lock);
}

size_t cs_alloc_usable_size(const cs_arena_header *arena, const void *ptr) {
    const cs_allocator *c = control_of(arena);
    if (c->debug) return ((const cs_alloc_debug_head *)((const char *)ptr - CS_ALLOC_DEBUG_HEAD))->requested;
    const cs_block *b = (const cs_block *)((const char *)ptr - CS_ALLOC_BLOCK_HEADER);
    return block_size(b);
}

void cs_alloc_counters_get(cs_arena_header *arena, cs_alloc_counters *out) {
    cs_allocator *c = control_of(arena);
    lock_allocator(c);
    cs_bins_drain_locked(arena, c);
    *out = c->counters;
    cs_lock_release(&c->lock);
}
