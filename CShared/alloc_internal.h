// Internal interface between the TLSF core (alloc.c) and the small-block layer
// (alloc_small.c). Not part of the public headers.
#ifndef CS_ALLOC_INTERNAL_H
#define CS_ALLOC_INTERNAL_H

#include "cs_alloc.h"

/// Frees a used block into the TLSF lists, coalescing. Caller holds the lock.
void cs_tlsf_free_locked(cs_arena_header *arena, cs_allocator *c, uint64_t offset);

/// A block of size class `k` from the process cache or the bins; NULL when both are empty.
void *cs_small_alloc(cs_arena_header *arena, cs_allocator *c, uint32_t k);
/// Keeps a freed block of class `k` in the process cache or a bin.
void cs_small_free(cs_arena_header *arena, cs_allocator *c, uint32_t k, uint64_t block_offset);
/// Returns every binned block to the TLSF lists. Caller holds the lock.
uint64_t cs_bins_drain_locked(cs_arena_header *arena, cs_allocator *c);

#endif
