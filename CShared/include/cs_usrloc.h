// cs_usrloc.h - usrloc's location table: the contacts registered for each address of
// record (AOR), shared by every server process (Kamailio's usrloc module, db_mode 0).
//
// Layout (section "usrloc", made by the master before it forks):
//   cs_ul_table                  64 bytes: sizes, counters, offset of the bucket array
//   cs_ul_bucket[bucket_count]   64 bytes each: a robust recursive lock, the chain head
// A contact is ONE arena allocation: a fixed 80-byte cs_ul_contact followed by its
// strings (AOR, address, Call-ID, User-Agent, received, Path, socket, instance, ruid),
// lengths in `len[]`, bytes back to back, no terminators. There is no separate AOR
// record: an AOR is the set of contacts with the same AOR string in its bucket (a bucket
// is chosen by the FNV-1a hash of the AOR), so an AOR costs nothing beyond its contacts
// and disappears with its last one. Within a bucket the contacts of one AOR keep their
// order (q descending; Kamailio's insertion rule) even when other AORs' contacts sit
// between them. Chains use offsets, never pointers, so respite-shm walks them mapped
// anywhere. Memory per contact: 80 bytes + its strings, rounded up by the allocator
// (a typical UDP phone: ~100 bytes of strings, ~192 bytes in all; Kamailio 5.6.3 uses
// ~860 bytes of shared memory per extra contact and ~1,140 for an AOR's first).
//
// Capacity: `capacity` contacts at most (modparam "contacts_max"); an insert beyond it
// fails with ENOSPC and an arena allocation failure with ENOMEM: save() answers 500 and
// nothing already registered is ever evicted. Expiry is wall-clock seconds (time(),
// as Kamailio's Expires), 0 = permanent; the usrloc timer process removes expired
// contacts every timer_interval seconds, and lookups skip them meanwhile.
//
// Synchronization table (one robust, recursive lock per bucket)
//   cs_ul_table_init : the master, before fork; no lock.
//   lock_aor / unlock_aor : any server process; registrar's save() holds the AOR's bucket
//       across read-decide-write so two REGISTERs for one AOR are serialized.
//   insert / replace / remove / remove_aor / visit_aor : any server process; each takes
//       the AOR's bucket lock itself (recursive, so it nests inside lock_aor). Contact
//       memory is allocated and freed under it (lock order: bucket, then allocator).
//   purge_expired / visit / take_dirty : the timer process, RPC handlers and (take_dirty)
//       the master's final flush after its workers stopped; one bucket at a time.
//   `contacts` : atomic; reserved before an insert allocates, so the capacity holds
//       exactly across processes. Other counters are relaxed.
//   readers without a lock (respite-shm) : links are published with release stores
//       after the contact is complete; a reader validates every offset and length.
// A process killed holding a bucket lock: links change by single 8-byte stores; the next
// locker (CS_LOCK_RECOVERED) cuts the chain at any link leaving the heap and recounts.
#ifndef CS_USRLOC_H
#define CS_USRLOC_H

#include <stddef.h>
#include <stdint.h>

#include "cs_arena.h"
#include "cs_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_UL_VERSION 1u
/// String fields of a contact, in storage order.
enum {
    CS_UL_AOR = 0,
    CS_UL_URI = 1,
    CS_UL_CALLID = 2,
    CS_UL_UA = 3,
    CS_UL_RECEIVED = 4,
    CS_UL_PATH = 5,
    CS_UL_SOCKET = 6,
    CS_UL_INSTANCE = 7,
    CS_UL_RUID = 8,
    CS_UL_FIELDS = 10   ///< one spare length (index 9, always 0)
};
/// A contact's `state`: written to the database (or no database: db_mode 0, 1, 3), or
/// changed since the last write-back flush (db_mode 2). Set by the writer in `fields`,
/// cleared by cs_ul_take_dirty under the bucket lock.
#define CS_UL_CLEAN 0u
#define CS_UL_DIRTY 1u
/// q not given in the Contact (Kamailio's Q_UNSPECIFIED); it sorts below every q.
#define CS_UL_Q_UNSPECIFIED (-1)

typedef struct cs_ul_contact {
    uint64_t next;          ///< offset of the next contact in the bucket; 0 = last
    uint32_t hash;          ///< FNV-1a of the AOR
    int32_t q;              ///< 0..1000, or CS_UL_Q_UNSPECIFIED
    int64_t expires;        ///< wall-clock seconds; 0 = permanent
    int64_t last_modified;  ///< wall-clock seconds
    int32_t cseq;
    uint32_t flags;         ///< branch flags saved with the contact
    uint32_t cflags;        ///< contact flags (nat_bflag...)
    uint32_t methods;       ///< allowed methods bitmask; 0xFFFFFFFF = not known (all)
    uint32_t reg_id;
    int32_t tcpconn_id;     ///< -1 = none
    uint16_t len[CS_UL_FIELDS];
    uint32_t state;         ///< CS_UL_CLEAN or CS_UL_DIRTY (db_mode 2: not yet in the database)
} cs_ul_contact;

typedef struct cs_ul_bucket {
    cs_lock lock;
    uint64_t first;         ///< offset of the first contact; 0 = empty
    uint32_t count;         ///< contacts in the chain (under the lock)
    uint32_t depth;         ///< nesting of the holder (under the lock)
} cs_ul_bucket;

typedef struct cs_ul_table {
    uint32_t bucket_count;  ///< a power of two (2^hash_size)
    uint32_t use_domain;    ///< AORs are user@domain (1) or user (0); informational
    uint64_t capacity;      ///< most contacts at once
    uint64_t contacts;      ///< live contacts (atomic)
    uint64_t buckets_offset;///< from the arena start
    uint64_t expired;       ///< removed by the timer (relaxed)
    uint64_t rejected_full; ///< inserts refused: capacity or arena full (relaxed)
    uint64_t db_written;    ///< contacts written to the database by write-back flushes (relaxed)
    uint32_t db_failed;     ///< database writes that failed, any mode (relaxed)
    uint32_t db_mode;       ///< usrloc's db_mode (0..3), set at init; informational
} cs_ul_table;

_Static_assert(sizeof(cs_ul_contact) == 80, "contact layout is read by respite-shm");
_Static_assert(offsetof(cs_ul_contact, len) == 56, "contact layout is read by respite-shm");
_Static_assert(sizeof(cs_ul_bucket) == 64, "bucket layout is read by respite-shm");
_Static_assert(offsetof(cs_ul_bucket, first) == 48, "bucket layout is read by respite-shm");
_Static_assert(sizeof(cs_ul_table) == 64, "table layout is read by respite-shm");

/// Section bytes for 2^`hash_size` buckets.
uint64_t cs_ul_table_bytes(uint32_t hash_size);
/// Initializes a section of cs_ul_table_bytes(hash_size) bytes (master, before fork).
/// Returns 0, EINVAL (hash_size outside 1..20) or a lock's errno.
int cs_ul_table_init(cs_arena_header *arena, cs_ul_table *t, uint32_t hash_size, uint64_t capacity,
                     uint32_t use_domain, uint32_t db_mode);

/// Takes the bucket lock of an AOR (recursive). CS_LOCK_OK or CS_LOCK_RECOVERED.
int cs_ul_lock_aor(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t len);
void cs_ul_unlock_aor(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t len);

/// Adds a contact: `fields` gives the numbers and the lengths, `bytes` the strings in
/// field order (the AOR first). Placed among its AOR's contacts before the first with a
/// lower q (after those with the same q). Returns 0, EINVAL (no AOR), ENOSPC (capacity)
/// or ENOMEM (arena); nothing changes on failure.
int cs_ul_insert(cs_arena_header *arena, cs_ul_table *t, const cs_ul_contact *fields, const char *bytes);
/// Replaces the contact of the same AOR and address with a new one, in the old one's
/// place; when q changed and the neighbours' q no longer bracket it, it moves before the
/// AOR's first contact with a q not below its own (Kamailio's rule, observed on 5.6.3).
/// Returns 0, ENOENT or ENOMEM (old kept).
int cs_ul_replace(cs_arena_header *arena, cs_ul_table *t, const cs_ul_contact *fields, const char *bytes);
/// Removes the contact with this AOR and address. Returns 0 or ENOENT.
int cs_ul_remove(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t aor_len, const char *uri,
                 size_t uri_len);
/// Removes every contact of an AOR; returns how many.
uint32_t cs_ul_remove_aor(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t len);
/// Removes the contacts whose expiry is at or before `now` (seconds) from buckets
/// first, first + step, ... (one timer process of `step` takes its share); returns how many.
uint64_t cs_ul_purge_expired(cs_arena_header *arena, cs_ul_table *t, int64_t now, uint32_t first, uint32_t step);

/// Visits every CS_UL_DIRTY contact, one bucket lock at a time, marking it CS_UL_CLEAN as
/// it is copied (the write-back flush); returns how many. A flush that fails to write one
/// marks it dirty again with cs_ul_mark_dirty (a change meanwhile left it dirty anyway).
uint64_t cs_ul_take_dirty(cs_arena_header *arena, cs_ul_table *t, void (*visitor)(void *, const cs_ul_contact *,
                          const char *), void *context);
/// Marks the contact (AOR, address) CS_UL_DIRTY. Returns 0 or ENOENT.
int cs_ul_mark_dirty(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t aor_len, const char *uri,
                     size_t uri_len);
/// Counts the database writes that failed (any db_mode) and the contacts a flush wrote.
void cs_ul_count_db(cs_ul_table *t, uint64_t written, uint32_t failed);

/// Called for each contact with its record and strings (`bytes`, in field order).
typedef void (*cs_ul_visitor)(void *context, const cs_ul_contact *c, const char *bytes);
/// Visits the contacts of an AOR in order under its bucket lock; returns how many.
uint32_t cs_ul_visit_aor(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t len,
                         cs_ul_visitor visitor, void *context);
/// Visits every contact, one bucket lock at a time (bucket order); returns how many.
uint64_t cs_ul_visit(cs_arena_header *arena, cs_ul_table *t, cs_ul_visitor visitor, void *context);

#ifdef __cplusplus
}
#endif
#endif
