// cs_atomics.h - the few atomic operations Swift code needs on arena words.
//
// Why this shim exists: Swift's Synchronization atomics cannot be placed on memory the
// C layout owns; these inline functions give named, explicit orderings on plain fields.
#ifndef CS_ATOMICS_H
#define CS_ATOMICS_H

#include <stdint.h>

/// Adds and returns the new value; relaxed (counters).
static inline uint64_t cs_atomic_add_u64(uint64_t *p, uint64_t v) {
    return __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}
/// Adds and returns the new value; relaxed.
static inline uint32_t cs_atomic_add_u32(uint32_t *p, uint32_t v) {
    return __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}
/// Acquire load.
static inline uint64_t cs_atomic_load_u64(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/// Acquire load.
static inline uint32_t cs_atomic_load_u32(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/// Release store.
static inline void cs_atomic_store_u64(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
/// Release store.
static inline void cs_atomic_store_u32(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

#endif
