// cs_dnscache.h - the core's DNS cache (section "dnscache").
//
// Why it is in the arena: every worker resolves next hops, and a name one process has
// resolved (or found missing, or is resolving right now) should not cost the others a
// query, and above all not a wait. An entry is one (name, type) question: its answer's
// records packed as bytes (the format is Swift's, DNSCacheRecord in Shared; C only
// stores them), when it expires, and whether some process is resolving it now (a lease).
//
// Entries are a fixed array sized at start from `dns_cache_mem`, chained from a bucket
// array that follows them; a full cache evicts expired entries first, least recently
// used first, and live ones only when `dns_cache_del_nonexp` allows it.
//
// Lease: cs_dns_get gives the caller the job of resolving a missing or expired entry
// (CS_DNS_MISS_CLAIMED, CS_DNS_STALE_CLAIMED) and records the lease's end; until then
// other callers are told someone resolves it (CS_DNS_MISS_BUSY, or the old answer with
// CS_DNS_STALE_BUSY) instead of sending the same query. A lease simply ends with time,
// so a process that dies while resolving blocks nobody for longer than its lease.
//
// Synchronization table
//   cs_dns_cache_init : the master, before fork.
//   cs_dns_get, cs_dns_put, cs_dns_release, cs_dns_gc, cs_dns_flush : any process
//       (receivers, workers, timers) under `lock`; they copy entries in and out, so no
//       caller keeps a pointer into an entry after the lock is released.
//   statistics counters : under `lock`, or atomic adds (cs_dns_count) by any process.
//   respite-shm : reads without locks (it re-reads a torn view).
// A process that dies inside the lock leaves the cache emptied by the next acquirer:
// it is only a cache, and rebuilding chains from half-written entries is not worth it.
#ifndef CS_DNSCACHE_H
#define CS_DNSCACHE_H

#include <stdint.h>

#include "cs_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_DNSCACHE_VERSION 1u
/// A name as stored: lower case, no final dot, NUL-terminated (DNS names are at most 253).
#define CS_DNS_NAME_MAX 256
/// Bytes of packed records an entry holds; an answer that does not fit is cut at a record.
#define CS_DNS_DATA_MAX 704
#define CS_DNS_NONE 0xFFFFFFFFu

typedef enum cs_dns_state {
    CS_DNS_FREE = 0,
    CS_DNS_RESOLVING = 1, ///< a placeholder: someone holds the lease, no answer yet
    CS_DNS_POSITIVE = 2,  ///< records
    CS_DNS_NEGATIVE = 3,  ///< the name or type does not exist (or did not answer): `rcode`
} cs_dns_state;

/// What cs_dns_get found and what the caller should do.
typedef enum cs_dns_result {
    CS_DNS_HIT = 0,           ///< a live answer (positive or negative) copied out
    CS_DNS_STALE_CLAIMED = 1, ///< an expired answer copied out; the caller holds the lease: refresh it
    CS_DNS_STALE_BUSY = 2,    ///< an expired answer copied out; another process refreshes it
    CS_DNS_MISS_CLAIMED = 3,  ///< nothing; a placeholder is made and the caller holds its lease
    CS_DNS_MISS_BUSY = 4,     ///< nothing yet; another process resolves it now
    CS_DNS_FULL = 5,          ///< nothing, and no room for a placeholder: resolve without caching
} cs_dns_result;

/// `rcode` of a negative entry that recorded no answer at all.
#define CS_DNS_RCODE_TIMEOUT 0xFFFFu

typedef struct cs_dns_entry {
    uint32_t state;          ///< cs_dns_state
    uint16_t type;           ///< the question's type (1 A, 28 AAAA, 33 SRV, 35 NAPTR)
    uint16_t record_count;   ///< records packed in `data`
    uint32_t hash;
    uint32_t next;           ///< bucket chain while in use, free list while free
    uint64_t expires_ms;     ///< monotonic ms (cs_now_ms) when the answer expires
    uint64_t stored_ms;      ///< when the answer was stored (0 for a placeholder)
    uint64_t last_used_ms;   ///< last lookup that found it (LRU eviction)
    uint64_t lease_until_ms; ///< a process resolves it until then (0: nobody)
    int32_t lease_pid;       ///< who holds the lease (for people; the lease ends by time)
    uint16_t data_len;
    uint16_t rcode;          ///< negative entries: the DNS rcode, or CS_DNS_RCODE_TIMEOUT
    uint32_t hits;
    uint32_t ttl;            ///< seconds, after dns_cache_min_ttl / max_ttl
    char name[CS_DNS_NAME_MAX];
    uint8_t data[CS_DNS_DATA_MAX];
} cs_dns_entry;

typedef struct cs_dns_cache {
    cs_lock lock;
    uint32_t capacity;
    uint32_t used;
    uint32_t bucket_count;   ///< a power of two; buckets follow the entries
    uint32_t free_head;
    uint32_t high_water;
    uint32_t gc_interval_ms;
    uint64_t next_gc_ms;
    uint64_t stale_ms;       ///< how long after expiry an answer may still be served while refreshed
    uint32_t del_nonexp;     ///< 1: a full cache may evict live entries (dns_cache_del_nonexp)
    uint32_t reserved0;
    uint64_t lookups;        ///< cs_dns_get calls
    uint64_t hits;           ///< live answers found (positive and negative)
    uint64_t negative_hits;  ///< of which negative
    uint64_t stale_served;   ///< expired answers handed out while being refreshed
    uint64_t busy;           ///< lookups that found another process resolving the name
    uint64_t misses;         ///< lookups that claimed a lease on a missing name
    uint64_t stored;         ///< answers stored
    uint64_t evicted_expired;
    uint64_t evicted_live;   ///< live entries evicted (dns_cache_del_nonexp)
    uint64_t full;           ///< lookups or stores that found no room
    uint64_t gc_runs;
    uint64_t gc_freed;
    uint64_t queries;        ///< DNS queries sent (cs_dns_count)
    uint64_t timeouts;       ///< queries that got no answer in time
    uint64_t errors;         ///< malformed answers, send failures, SERVFAIL...
    uint64_t flushes;
    uint64_t reserved[4];
    cs_dns_entry entries[];
} cs_dns_cache;

_Static_assert(sizeof(cs_dns_entry) == 1024, "dnscache entry layout is read by respite-shm");
_Static_assert(sizeof(cs_dns_cache) % 64 == 0, "entries stay aligned after the header");

typedef enum cs_dns_counter {
    CS_DNS_COUNT_QUERIES = 0,
    CS_DNS_COUNT_TIMEOUTS = 1,
    CS_DNS_COUNT_ERRORS = 2,
} cs_dns_counter;

/// Bytes of a cache with `capacity` entries (header, entries, buckets).
uint64_t cs_dns_cache_bytes(uint32_t capacity);
/// How many entries fit in `bytes` (at least 1).
uint32_t cs_dns_cache_capacity_for(uint64_t bytes);
/// Lays out an empty cache (master, before fork). `gc_interval_s` paces cs_dns_gc;
/// `stale_s` bounds how long an expired answer may be served while it is refreshed.
void cs_dns_cache_init(cs_dns_cache *cache, uint32_t capacity, uint32_t gc_interval_s, uint32_t stale_s,
                       uint32_t del_nonexp);

/// Looks (name, type) up and copies the entry into `out` (for every result but the
/// MISS ones and FULL). May claim the lease for the caller (`pid`, for `lease_ms`): see
/// cs_dns_result. Runs a due garbage collection first. Takes the lock; acquire/release
/// ordering through it.
cs_dns_result cs_dns_get(cs_dns_cache *cache, const char *name, uint32_t name_len, uint16_t type, uint64_t now_ms,
                         int32_t pid, uint32_t lease_ms, cs_dns_entry *out);

/// Stores an answer for (name, type) and ends any lease on it: `state` POSITIVE with
/// `count` records packed in `data`, or NEGATIVE with `rcode`. Expires `ttl_s` from now.
/// Takes the lock. 0, or -1 when the name or data is too long or no entry is free.
int cs_dns_put(cs_dns_cache *cache, const char *name, uint32_t name_len, uint16_t type, uint64_t now_ms,
               uint32_t state, uint32_t ttl_s, uint16_t rcode, const uint8_t *data, uint32_t data_len,
               uint32_t count);

/// Ends the caller's lease on (name, type) without an answer: a placeholder is freed, an
/// expired answer stays as it was. Takes the lock.
void cs_dns_release(cs_dns_cache *cache, const char *name, uint32_t name_len, uint16_t type);

/// Frees answers expired more than `stale_ms` ago (and placeholders whose lease ended);
/// how many. Takes the lock.
uint32_t cs_dns_gc(cs_dns_cache *cache, uint64_t now_ms);

/// Frees every entry; how many were in use. Takes the lock.
uint32_t cs_dns_flush(cs_dns_cache *cache);

/// Adds one to a statistics counter (atomic, relaxed; no lock).
void cs_dns_count(cs_dns_cache *cache, cs_dns_counter counter);

/// Entry `index`, NULL outside the table (for respite-shm and tests; no lock).
cs_dns_entry *cs_dns_entry_at(cs_dns_cache *cache, uint32_t index);

#ifdef __cplusplus
}
#endif
#endif
