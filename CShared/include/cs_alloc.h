// cs_alloc.h - the general allocator inside the arena (TLSF: two-level segregated fit).
//
// Why this shim exists: shared memory needs its own allocator whose metadata lives in
// the arena, uses offsets (so respite-shm can walk it from any address) and is safe to
// call from every server process.
//
// malloc and free are O(1): a first-level index by power of two, a second level of 32
// linear steps, bitmaps to find a non-empty list, and immediate coalescing with both
// physical neighbours. Every block has a 16-byte header; payloads are 16-byte aligned.
//
// Small blocks (payloads of 16 to 1024 bytes, one size class per 16 bytes; not in debug
// mode) skip the lock through two layers (alloc_small.c):
//
// - A process that attached a cache (cs_alloc_cache_attach) keeps up to
//   CS_ALLOC_CACHE_DEPTH (16) freed blocks per size class of its own: allocating from it
//   and freeing into it take no atomic operation at all.
// - Behind the caches, 64 bins, one per size class: lock-free stacks of *batches*, a
//   batch being a chain of up to 16 free blocks of that size. A block moves between a
//   cache and a bin a batch at a time: an allocation that finds its cache empty pops a
//   whole batch (one compare-and-swap), returns its first block and keeps the rest in
//   the cache (what does not fit goes back as one batch); a free that finds its cache
//   full pushes the older half (8 blocks) as one batch. A process without a cache pops
//   a batch and pushes back the rest, and frees by pushing a batch of one. So one
//   compare-and-swap pays for several allocations, and a producer process can allocate
//   what a consumer process frees without a shared cache line per block.
//
// Only a bin that is empty sends an allocation to the TLSF lists under the lock. Like
// glibc's fastbins the bins are unbounded: a binned or cached block still counts as
// used for TLSF. The bins are drained back (and coalesced) under the lock whenever the
// heap cannot serve a request and before exact statistics are taken; a cache returns
// its blocks to the bins when it overflows, when its process exits
// (cs_alloc_cache_detach) or when the master reclaims the slot of a dead one
// (cs_alloc_cache_reclaim). The caches live in the arena (section "alloccache", one per
// process slot), so a process that dies with blocks in its cache loses nothing, and
// respite-shm shows them.
//
// Synchronization table
//   cs_alloc / cs_free : any server process. Small sizes use the caller's own cache
//       first (no atomics: only the owner touches it while it lives), then their bin
//       (lock-free, a batch per acquire/release CAS on a {offset, tag} word, the tag
//       defeats ABA); otherwise they take the allocator's robust lock (acquire/release
//       ordering).
//   cs_alloc_counters_get / cs_alloc_check / cs_alloc_visit_live : any server process;
//       drain the bins under the lock first, so the figures are exact (blocks held in
//       process caches count as used).
//   cs_alloc_walk : a tool on a read-only mapping; takes no lock and validates every
//       offset, so a torn or corrupt arena gives an error, never a crash.
#ifndef CS_ALLOC_H
#define CS_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "cs_arena.h"
#include "cs_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ALLOC_ALIGN 16u
#define CS_ALLOC_SL_LOG2 5u
#define CS_ALLOC_SL_COUNT (1u << CS_ALLOC_SL_LOG2)
#define CS_ALLOC_FL_COUNT 34u
#define CS_ALLOC_BLOCK_HEADER 16u
/// Extra bytes a debug-mode allocation carries (head record + tail fence).
#define CS_ALLOC_DEBUG_HEAD 32u
#define CS_ALLOC_DEBUG_TAIL 8u

/// A block header. Offsets are from the arena start; 0 means none.
typedef struct cs_block {
    uint64_t prev_phys;  ///< offset of the physically previous block (0 for the first)
    uint64_t size_flags; ///< payload bytes | CS_BLOCK_FREE
    // Only in free blocks (they overlay the payload):
    uint64_t next_free;
    uint64_t prev_free;
} cs_block;

#define CS_BLOCK_FREE 1ull
#define CS_BLOCK_FLAGS 15ull

/// Live statistics, kept exactly under the allocator lock.
typedef struct cs_alloc_counters {
    uint64_t heap_bytes;     ///< bytes managed (payloads + headers)
    uint64_t used_bytes;     ///< payload bytes of live blocks
    uint64_t free_bytes;     ///< payload bytes of free blocks
    uint64_t free_blocks;    ///< fragments: number of free blocks
    uint64_t live_allocs;    ///< blocks handed out and not freed
    uint64_t total_allocs;
    uint64_t total_frees;
    uint64_t failed_allocs;  ///< requests that found no block (the caller got NULL)
    uint64_t peak_used_bytes;
    uint64_t fence_errors;   ///< debug mode: corrupted fences seen at free time
} cs_alloc_counters;

#define CS_ALLOC_BIN_COUNT 64u
#define CS_ALLOC_BIN_MAX_PAYLOAD (CS_ALLOC_BIN_COUNT * CS_ALLOC_ALIGN)

/// A bin: a lock-free stack of batches of free blocks of one payload size, alone on a
/// cache line. In a binned block's payload, word 0 (read in a batch's first block) holds
/// the next batch's first block and word 1 the next block of the same batch, both as
/// offset / 16, 0 for none.
typedef struct cs_alloc_bin {
    uint64_t head;    ///< (offset of the top batch's first block / 16) << 32 | ABA tag
    uint8_t pad[56];
} cs_alloc_bin;

#define CS_ALLOC_CACHE_DEPTH 16u

/// One process's cache of free small blocks (offsets / 16), in section "alloccache".
typedef struct cs_alloc_cache {
    int32_t owner_pid;       ///< 0 when no process uses it
    uint32_t reserved;
    uint8_t counts[CS_ALLOC_BIN_COUNT];
    uint32_t blocks[CS_ALLOC_BIN_COUNT][CS_ALLOC_CACHE_DEPTH];
    uint8_t pad[56];
} cs_alloc_cache;

/// The allocator control block (section "allocator").
typedef struct cs_allocator {
    cs_alloc_bin bins[CS_ALLOC_BIN_COUNT]; ///< bins[i] holds payloads of (i+1)*16 bytes
    cs_lock lock;
    uint32_t debug;          ///< nonzero: allocations carry fences and sites
    uint32_t cache_count;    ///< process caches in section "alloccache"
    uint64_t caches_offset;  ///< offset of the first cs_alloc_cache, 0 when none
    uint64_t heap_start;     ///< offset of the first block
    uint64_t heap_end;       ///< offset of the sentinel block (size 0, used)
    cs_alloc_counters counters;
    uint64_t fl_bitmap;
    uint32_t sl_bitmap[CS_ALLOC_FL_COUNT];
    uint64_t heads[CS_ALLOC_FL_COUNT][CS_ALLOC_SL_COUNT];
} cs_allocator;

/// The head record of a debug-mode allocation (sits before the payload).
typedef struct cs_alloc_debug_head {
    uint64_t fence;          ///< CS_ALLOC_FENCE_HEAD
    uint32_t line;
    uint32_t requested;      ///< bytes the caller asked for
    char file[16];           ///< last characters of the allocating file's name
} cs_alloc_debug_head;

#define CS_ALLOC_FENCE_HEAD 0xA110CA7EDF00D5AFULL
#define CS_ALLOC_FENCE_TAIL 0x7A11FE9CE5AFE7A1ULL

_Static_assert(sizeof(cs_block) == 32, "block header layout is walked by respite-shm");
_Static_assert(sizeof(cs_alloc_bin) == 64, "one bin per cache line");
_Static_assert(sizeof(cs_alloc_cache) % 64 == 0, "caches do not share cache lines");
_Static_assert(offsetof(cs_allocator, lock) == CS_ALLOC_BIN_COUNT * 64, "bins first");
_Static_assert(sizeof(cs_alloc_debug_head) == CS_ALLOC_DEBUG_HEAD, "debug head size");

/// Sets up the allocator over [heap_start, heap_end) of the arena. Creator only.
int cs_alloc_init(cs_arena_header *arena, uint64_t control_offset, uint64_t heap_start,
                  uint64_t heap_end, int debug);

/// Allocates `size` bytes (16-byte aligned) or returns NULL when nothing fits.
void *cs_alloc(cs_arena_header *arena, size_t size);
/// As cs_alloc, recording the allocation site in debug mode.
void *cs_alloc_at(cs_arena_header *arena, size_t size, const char *file, uint32_t line);
/// Returns a block to the arena. NULL is ignored.
void cs_free(cs_arena_header *arena, void *ptr);
/// Usable bytes of a live allocation.
size_t cs_alloc_usable_size(const cs_arena_header *arena, const void *ptr);

/// A copy of the counters, taken under the lock.
void cs_alloc_counters_get(cs_arena_header *arena, cs_alloc_counters *out);

/// What a walk over all blocks found.
typedef struct cs_alloc_report {
    uint64_t blocks;
    uint64_t used_blocks;
    uint64_t used_bytes;
    uint64_t free_blocks;
    uint64_t free_bytes;
    uint64_t largest_free;
    uint64_t fence_errors;   ///< debug mode: live blocks with a broken fence
    uint64_t error_offset;   ///< where the walk stopped on corruption, else 0
    char error[96];          ///< empty when the walk completed
} cs_alloc_report;

/// Walks every block physically. Works on any mapping (read-only included) of
/// `mapped_size` bytes starting at `base`; validates every offset; no lock taken
/// (the tool's view may be torn; a server process uses cs_alloc_check instead).
/// Returns 0 when the walk completed, -1 when it stopped at corruption.
int cs_alloc_walk(const void *base, uint64_t mapped_size, cs_alloc_report *out);

/// Creates one cache per process slot (creator, before fork). Returns 0 or ENOMEM.
int cs_alloc_caches_init(cs_arena_header *arena, uint32_t count);
/// Gives the calling process the cache of `slot` (call in the child after fork).
/// Returns 0, or -1 when there is no such cache.
int cs_alloc_cache_attach(cs_arena_header *arena, uint32_t slot);
/// Empties the calling process's cache into the bins and detaches it (before exit).
void cs_alloc_cache_detach(void);
/// Empties the cache of `slot`, whose owner is gone (master, after reaping it).
/// Returns the number of blocks recovered.
uint64_t cs_alloc_cache_reclaim(cs_arena_header *arena, uint32_t slot);
/// Blocks and bytes held in process caches (safe on a read-only mapping; validated).
int cs_alloc_cached(const void *base, uint64_t mapped_size, uint64_t *blocks, uint64_t *bytes);

/// Returns every binned block to the TLSF lists (under the lock). Returns how many.
uint64_t cs_alloc_drain_bins(cs_arena_header *arena);

/// Blocks and payload bytes sitting in bins: what a walk reports as used but the program
/// has freed. Follows the bins without a lock, validating every link (safe on a
/// read-only mapping; a racing change can make the figure approximate). Returns 0, or -1
/// when a link was out of bounds (the counts stop there).
int cs_alloc_binned(const void *base, uint64_t mapped_size, uint64_t *blocks, uint64_t *bytes);

/// Like cs_alloc_walk, under the allocator lock: an exact, consistent report.
int cs_alloc_check(cs_arena_header *arena, cs_alloc_report *out);

/// Visits every live block (payload offset, payload bytes, debug head or NULL).
/// Under the lock; for leak checks in tests and the dump of allocation sites.
typedef void (*cs_alloc_visitor)(void *context, uint64_t offset, uint64_t size,
                                 const cs_alloc_debug_head *debug);
void cs_alloc_visit_live(cs_arena_header *arena, cs_alloc_visitor visitor, void *context);

#ifdef __cplusplus
}
#endif
#endif
