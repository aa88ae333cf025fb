// cs_htable.h - shared hash tables ($sht(table=>key), Kamailio's htable module).
//
// Why this shim exists: every server process must see the same items, so the buckets
// live in the arena and every item is one arena allocation; respite-shm walks them from
// any address, so items are chained by offsets, never pointers. Keys are hashed with
// 32-bit FNV-1a: deterministic in every process and in the tool (never Swift's Hasher,
// which is seeded per process).
//
// Section "htable" holds a cs_htable_dir, its tables, then each table's bucket array.
// The master lays it all out before it forks (from modparam("htable", "htable", ...));
// afterwards tables are never added or removed, only items change.
//
// An item: {next, hash, key_len, expires_ms, int_value, type, str_len} followed by the
// key bytes and, for a string, the string bytes. Expiry is kept in monotonic
// milliseconds (CLOCK_MONOTONIC is system-wide, so the tool can compare), 0 = never;
// `autoexpire` (seconds) is applied on every set and increment, as Kamailio does.
// A null value is not stored: setting null deletes the item.
//
// Synchronization table (one robust, recursive lock per bucket)
//   cs_htable_dir_init / cs_htable_add : the master, before fork; no lock.
//   cs_htable_find : any process, no lock (the directory is fixed after fork).
//   get / set_* / increment / set_expire / get_expire / remove : any server process;
//       each takes the key's bucket lock (acquire / release ordering); item memory is
//       allocated and freed under it (lock order: bucket, then allocator; the allocator
//       never takes a bucket lock). Expired items met on the way are removed.
//   lock_key / unlock_key (sht_lock / sht_unlock) : any server process; the lock is
//       recursive, so operations on keys of the same bucket between them do not
//       deadlock; a process must not lock two buckets out of order (it may deadlock).
//   reset / purge_expired / visit : any server process; one bucket lock at a time.
//   `items` counters : relaxed atomics, exact once the table is quiet.
//   readers without a lock (respite-shm) : chain links are published with release
//       stores after the item is complete; a reader still validates every offset and
//       length and bounds its walk, because a torn read is possible.
// A process killed while holding a bucket lock: links change by single 8-byte stores,
// so the chain stays walkable; an item unlinked but not yet freed leaks, an item whose
// int was being updated holds the old or the new value, and the bucket's count may be
// off by one. The next locker (CS_LOCK_RECOVERED) re-walks the bucket, cuts the chain
// at any link that leaves the heap, and recounts it.
#ifndef CS_HTABLE_H
#define CS_HTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "cs_arena.h"
#include "cs_lock.h"
#include "cs_shv.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_HTABLE_NAME_MAX 32
#define CS_HTABLE_SIZE_MIN 1u
#define CS_HTABLE_SIZE_MAX 14u
/// Version of the "htable" section's layout.
#define CS_HTABLE_VERSION 1u

/// One item (an arena allocation of sizeof(cs_htable_item) + key_len + str_len bytes).
typedef struct cs_htable_item {
    uint64_t next;        ///< offset of the next item in the bucket; 0 = last
    uint32_t hash;        ///< FNV-1a of the key
    uint32_t key_len;
    uint64_t expires_ms;  ///< monotonic milliseconds; 0 = never
    int64_t int_value;
    uint32_t type;        ///< CS_VALUE_INT or CS_VALUE_STRING
    uint32_t str_len;     ///< string bytes after the key
} cs_htable_item;

/// One bucket: a recursive robust lock and the first item, alone on a cache line.
typedef struct cs_htable_bucket {
    cs_lock lock;
    uint64_t first;       ///< offset of the first item; 0 = empty
    uint32_t count;       ///< items in the chain (under the lock)
    uint32_t depth;       ///< how many times the holder has the lock (under the lock)
} cs_htable_bucket;

/// One table.
typedef struct cs_htable {
    char name[CS_HTABLE_NAME_MAX]; ///< NUL-terminated
    uint32_t size_log2;            ///< 2^size_log2 buckets
    uint32_t bucket_count;
    uint32_t autoexpire;           ///< seconds; 0 = never
    uint32_t has_initval;          ///< 1: a missing key reads as `initval`
    int64_t initval;
    uint64_t items;                ///< live items (relaxed)
    uint64_t buckets_offset;       ///< bucket array, from the arena start
    uint64_t reserved[3];
} cs_htable;

/// The directory (section "htable"), followed by its tables and bucket arrays.
typedef struct cs_htable_dir {
    uint32_t count;
    uint32_t capacity;
    uint64_t bytes;       ///< bytes of the section
    uint64_t used;        ///< bytes laid out so far (from the directory's start)
    uint64_t reserved[5];
    cs_htable tables[];
} cs_htable_dir;

_Static_assert(sizeof(cs_htable_item) == 40, "item layout is read by respite-shm");
_Static_assert(offsetof(cs_htable_item, type) == 32, "item layout is read by respite-shm");
_Static_assert(sizeof(cs_htable_bucket) == 64, "bucket layout is read by respite-shm");
_Static_assert(offsetof(cs_htable_bucket, first) == 48, "bucket layout is read by respite-shm");
_Static_assert(sizeof(cs_htable) == 96, "table layout is read by respite-shm");
_Static_assert(offsetof(cs_htable, buckets_offset) == 64, "table layout is read by respite-shm");
_Static_assert(sizeof(cs_htable_dir) == 64, "directory layout is read by respite-shm");

/// 32-bit FNV-1a of `len` bytes.
uint32_t cs_htable_hash(const char *key, size_t len);

/// Section bytes for `capacity` tables with `total_buckets` buckets between them.
uint64_t cs_htable_dir_bytes(uint32_t capacity, uint64_t total_buckets);
/// Initializes a zeroed section of `bytes` bytes (master, before fork).
void cs_htable_dir_init(cs_htable_dir *dir, uint32_t capacity, uint64_t bytes);
/// Adds a table (master, before fork). Returns 0 and the table in `out`, EINVAL (bad
/// name or size), EEXIST (name taken), ENOSPC (directory or section full) or the
/// errno of a bucket lock's initialization.
int cs_htable_add(cs_arena_header *arena, cs_htable_dir *dir, const char *name, uint32_t size_log2,
                  uint32_t autoexpire, int has_initval, int64_t initval, cs_htable **out);
/// The table named `name` (`len` bytes), or NULL. Any process, no lock.
cs_htable *cs_htable_find(cs_htable_dir *dir, const char *name, size_t len);

/// Copies the value of `key` out under its bucket lock; string bytes go to `buffer`.
/// A missing or expired key gives the table's initval (CS_VALUE_INT) or CS_VALUE_NULL.
/// Returns 0, or ERANGE when the string is longer than `capacity` (`out->str_len` has
/// its length; retry with a larger buffer).
int cs_htable_get(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                  cs_value *out, char *buffer, size_t capacity);
/// Sets `key` to an integer (refreshing autoexpire). Returns 0 or ENOMEM (nothing changed).
int cs_htable_set_int(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                      int64_t value);
/// Sets `key` to a copy of `len` bytes (a new item replaces the old one). Returns 0,
/// EINVAL (too long) or ENOMEM (nothing changed).
int cs_htable_set_string(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                         const char *bytes, size_t len);
/// Adds `delta` to the integer of `key` under its bucket lock; a missing key starts from
/// initval (or 0). Writes the new value to `result`. Returns 0, EINVAL (the item holds
/// a string) or ENOMEM.
int cs_htable_increment(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                        int64_t delta, int64_t *result);
/// Makes `key` expire `seconds` from now (0: never). Returns 0 or ENOENT.
int cs_htable_set_expire(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                         uint32_t seconds);
/// Milliseconds until `key` expires (0: never) into `remaining_ms`. Returns 0 or ENOENT.
int cs_htable_get_expire(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                         uint64_t *remaining_ms);
/// Removes `key` (sht_rm, or setting null). Returns 0 or ENOENT.
int cs_htable_remove(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len);
/// Removes every item (sht_reset). Returns how many.
uint64_t cs_htable_reset(cs_arena_header *arena, cs_htable *table);
/// Removes the items that expired by `now_ms` (monotonic; for a timer process).
/// Returns how many.
uint64_t cs_htable_purge_expired(cs_arena_header *arena, cs_htable *table, uint64_t now_ms);

/// Takes the bucket lock of `key` (sht_lock). Recursive. Returns CS_LOCK_OK or
/// CS_LOCK_RECOVERED (a holder died; the bucket was repaired).
int cs_htable_lock_key(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len);
/// Releases the bucket lock of `key` (sht_unlock), taken by this process; ignored when
/// this process does not hold it.
void cs_htable_unlock_key(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len);

/// Called for each item: the item, its key and (for a string) its string bytes.
typedef void (*cs_htable_visitor)(void *context, const cs_htable_item *item, const char *key,
                                  const char *string);
/// Visits every live item, one bucket lock at a time; the visitor must not operate on
/// other buckets of the table. Returns the number of items visited.
uint64_t cs_htable_visit(cs_arena_header *arena, cs_htable *table, cs_htable_visitor visitor,
                         void *context);

/// Monotonic clock in milliseconds (the expiry clock).
uint64_t cs_htable_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
