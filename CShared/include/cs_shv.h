// cs_shv.h - shared variables ($shv(name), Kamailio's pv module) in the arena.
//
// Why this shim exists: a $shv value must be the same for every server process, so the
// slots live in the arena and a string value's bytes come from the arena allocator. The
// master creates every slot before it forks (names from the script and from
// modparam("pv", "shvset", ...)); afterwards the set of names is fixed and only values
// change, so a slot's index is a stable handle the compiled script can keep.
//
// A value is null, a 64-bit integer or a string. A string's bytes are one cs_alloc
// block referenced by offset (from the arena start) and length; a replaced string is
// freed. An allocation failure makes the set fail and leaves the old value.
//
// Synchronization table (one robust lock per table)
//   cs_shv_table_init / cs_shv_add : the master, before fork; no lock (nobody else runs).
//   cs_shv_find : any process, no lock (names never change after fork).
//   cs_shv_set_* / cs_shv_get : any server process; take the table lock (acquire /
//       release ordering). Allocation and freeing of string bytes happen outside it.
//   readers without the lock (respite-shm) : may see a torn entry; they validate `type`,
//       `str_offset` and `str_len` against the mapping before following them.
// A process killed while holding the lock: an entry is changed by writing its payload
// first and `type` last, and a string-to-string change goes through CS_VALUE_NULL, so
// the entry is the old value, null or the new value; at worst one string block leaks.
// The next locker re-validates every entry (string offsets inside the heap).
#ifndef CS_SHV_H
#define CS_SHV_H

#include <stddef.h>
#include <stdint.h>

#include "cs_arena.h"
#include "cs_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Room for a name of up to 31 bytes and its NUL.
#define CS_SHV_NAME_MAX 32
/// Version of the "shv" section's layout.
#define CS_SHV_VERSION 1u

/// What a value holds (shared by $shv and $sht).
typedef enum cs_value_type {
    CS_VALUE_NULL = 0,
    CS_VALUE_INT = 1,
    CS_VALUE_STRING = 2,
} cs_value_type;

/// A value copied out of the arena: the type, the integer, and for a string its length
/// (the bytes go to a caller's buffer).
typedef struct cs_value {
    uint32_t type;       ///< cs_value_type
    uint32_t str_len;    ///< string bytes (also when they did not fit the buffer)
    int64_t int_value;
} cs_value;

/// One named slot.
typedef struct cs_shv_entry {
    char name[CS_SHV_NAME_MAX]; ///< NUL-terminated; fixed after fork
    uint32_t type;              ///< cs_value_type; written last
    uint32_t str_len;           ///< string bytes
    int64_t int_value;
    uint64_t str_offset;        ///< string bytes from the arena start; 0 when none
    uint64_t reserved;
} cs_shv_entry;

/// The table (section "shv"): header, lock, then `capacity` entries.
typedef struct cs_shv_table {
    uint32_t capacity;
    uint32_t count;             ///< slots added (master only, before fork)
    uint64_t reserved;
    cs_lock lock;               ///< guards every entry's value
    cs_shv_entry entries[];
} cs_shv_table;

_Static_assert(sizeof(cs_value) == 16, "cs_value is a plain copy for Swift");
_Static_assert(sizeof(cs_shv_entry) == 64, "shv entry layout is read by respite-shm");
_Static_assert(offsetof(cs_shv_entry, type) == 32, "shv entry layout is read by respite-shm");
_Static_assert(offsetof(cs_shv_entry, str_offset) == 48, "shv entry layout is read by respite-shm");
_Static_assert(sizeof(cs_shv_table) == 64, "shv table layout is read by respite-shm");
_Static_assert(offsetof(cs_shv_table, lock) == 16, "shv table layout is read by respite-shm");

/// Bytes of a table with `capacity` slots.
uint64_t cs_shv_table_bytes(uint32_t capacity);
/// Initializes a zeroed table (master, before fork). Returns 0 or the lock's errno.
int cs_shv_table_init(cs_shv_table *table, uint32_t capacity);

/// Adds a slot holding null (master, before fork; no lock). An existing name gives its
/// slot. Returns 0 and the slot in `index`, EINVAL for an empty or too long name
/// (over 31 bytes), or ENOSPC when the table is full.
int cs_shv_add(cs_shv_table *table, const char *name, size_t name_len, uint32_t *index);
/// The slot of `name` (`name_len` bytes, no NUL needed), or -1 when there is none.
/// Any process, no lock.
int32_t cs_shv_find(const cs_shv_table *table, const char *name, size_t name_len);

/// Sets slot `index` to an integer. Takes the table lock. Returns 0 or EINVAL (no slot).
int cs_shv_set_int(cs_arena_header *arena, cs_shv_table *table, uint32_t index, int64_t value);
/// Sets slot `index` to a copy of `len` bytes (allocated before the lock is taken; the
/// old string is freed after it is released). Returns 0, EINVAL (no slot) or ENOMEM
/// (the arena is full: the old value stays).
int cs_shv_set_string(cs_arena_header *arena, cs_shv_table *table, uint32_t index,
                      const char *bytes, size_t len);
/// Sets slot `index` to null, freeing a string. Returns 0 or EINVAL.
int cs_shv_set_null(cs_arena_header *arena, cs_shv_table *table, uint32_t index);

/// Copies slot `index` out under the lock: the value into `out`, string bytes into
/// `buffer` (`capacity` bytes, not NUL-terminated). Returns 0, EINVAL (no slot) or
/// ERANGE when the string is longer than `capacity` (then `out->str_len` is its length
/// and the caller retries with a larger buffer).
int cs_shv_get(cs_arena_header *arena, cs_shv_table *table, uint32_t index, cs_value *out,
               char *buffer, size_t capacity);

#ifdef __cplusplus
}
#endif
#endif
