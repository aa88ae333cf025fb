// cs_tx.h - tm's transaction table in the arena.
//
// Why this shim exists: any process must be able to find, lock, answer and resume any
// transaction (a receiver creates it, the `timer` process times it out, an async worker
// resumes it), so transactions live in the arena, in a hash table of buckets with their
// own locks. A transaction is named by (hash index, label): the label is a per-bucket
// generation number, so a stale name can never reach a slot reused by a newer one.
//
// One transaction is one arena block: the cs_tx header, then its key bytes, then a copy
// of the request as received (about 1 KB for an INVITE). The last reply sent upstream,
// the script state saved with it (AVPs, header edits) and each branch's request live in
// further blocks referenced by offset. Every offset is relative to the arena start, so
// respite-shm can show transactions from any address.
//
// Lifetime: a reference count. The table holds one reference while the transaction is
// linked in its bucket; every lookup gives the caller one more (release with
// cs_tx_unref); every armed timer link holds one (taken by cs_tx_timer_arm, dropped when
// it is disarmed, or handed to the timer process when it fires). The last unref frees
// every block of the transaction.
//
// Synchronization table
//   bucket lock (robust, plain): held while linking, unlinking and walking a bucket, and
//       while taking a reference during a lookup; a new transaction is allocated under
//       it. A process holding a tx lock may take a bucket lock (cs_tx_unlink does, and a
//       lookup from a resumed route does); no tx lock is ever taken under a bucket lock.
//   tx lock (robust, recursive; tm's "reply lock"): held while reading or changing a
//       transaction's state, reply, branches, flags and script state; a resumed route
//       holds it for its whole run. Lock order: tx lock, then bucket lock or wheel lock
//       (never both), then allocator.
//   refcount: atomic (acq_rel); no lock needed.
//   counters: relaxed atomics.
//   respite-shm: reads without locks, validating every offset and bounding every walk.
#ifndef CS_TX_H
#define CS_TX_H

#include <stddef.h>
#include <stdint.h>

#include "cs_arena.h"
#include "cs_lock.h"
#include "cs_wheel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_TX_MAX_BRANCHES 4
#define CS_TX_VERSION 2u

/// Transaction flags.
enum {
    CS_TX_INVITE = 1u << 0,      ///< an INVITE server transaction
    CS_TX_SUSPENDED = 1u << 1,   ///< t_suspend / an async function holds it
    CS_TX_REPLIED = 1u << 2,     ///< a final reply went upstream
    CS_TX_CANCELED = 1u << 3,    ///< a CANCEL matched it
    CS_TX_TIMED_OUT = 1u << 4,   ///< its final-response timer fired
    CS_TX_UNLINKED = 1u << 5,    ///< removed from its bucket: lookups no longer find it
    CS_TX_ACKED = 1u << 6,       ///< the ACK for a negative final reply arrived
    CS_TX_RELAYED = 1u << 7,     ///< it has client branches (t_relay)
    CS_TX_ORPHANED = 1u << 8,    ///< a process died holding it mid-work: its final-response timer answers 500
};

/// Timer kinds of the links in a transaction (a branch's kinds add `branch << 8`).
enum {
    CS_TXT_FR = 1,          ///< final-response timer (fr_timer / fr_inv_timer)
    CS_TXT_UAS_RETR = 2,    ///< retransmission of our final reply to an INVITE (timer G)
    CS_TXT_WAIT = 3,        ///< wt_timer: keep the finished transaction to absorb retransmissions
    CS_TXT_BRANCH_RETR = 4, ///< a branch's request retransmission (timers A/E)
    CS_TXT_BRANCH_FR = 5,   ///< a branch's own timeout (timers B/F)
    CS_TXT_ASYNC = 6,       ///< the async module's wait (second ring or ms wheel, not the tm wheel)
};

/// What a resumed transaction runs (set by whoever suspends it).
enum {
    CS_RESUME_NONE = 0,
    CS_RESUME_ROUTE = 1,    ///< run route `resume_route`
    CS_RESUME_ACTION = 2,   ///< run the rest of action list `resume_block` from `resume_action`
};

/// Transports, as a peer records them (the numbers Kamailio's $proto uses).
enum {
    CS_PROTO_UDP = 1,
    CS_PROTO_TCP = 2,
    CS_PROTO_TLS = 3,
};

/// One end of a SIP hop: the peer's address and port, the transport, our listen socket,
/// and for a connection-oriented transport the connection (section "tcpconn"; 0: none
/// known, the TCP main finds or opens one by address).
typedef struct cs_peer {
    uint8_t addr[16];        ///< network order; an IPv4 address fills the first 4 bytes
    uint16_t port;
    uint8_t family;          ///< 4 or 6
    uint8_t proto;           ///< CS_PROTO_*
    uint16_t socket_index;   ///< which of our listen sockets (the server's listen order)
    uint16_t reserved;
    uint32_t conid;          ///< connection id (cs_tcp.h), 0 none
} cs_peer;

_Static_assert(sizeof(cs_peer) == 28, "peer layout is read by respite-shm");

/// A client branch: where the request went and what came back.
typedef struct cs_tx_branch {
    cs_peer dest;            ///< where the request went, and how
    uint16_t flags;          ///< CS_BR_*
    uint16_t reserved_flags;
    uint32_t last_status;    ///< highest status received (0 none)
    uint32_t retransmits;
    uint32_t retr_interval_ms;
    uint32_t request_len;
    uint64_t request_off;    ///< the request as sent on this branch
    uint64_t reply_off;      ///< the last final reply received (for failure_route / relay)
    uint32_t reply_len;
    int32_t on_branch_failure; ///< event_route[tm:branch-failure:X] index for this branch, -1 none
                             ///< (the transaction's arm when the branch was created)
    cs_timer_link retr;      ///< CS_TXT_BRANCH_RETR
    cs_timer_link fr;        ///< CS_TXT_BRANCH_FR
} cs_tx_branch;

enum {
    CS_BR_USED = 1u << 0,
    CS_BR_PROVISIONAL = 1u << 1, ///< a 1xx arrived (retransmissions stop; fr_inv_timer applies)
    CS_BR_FINAL = 1u << 2,       ///< a final reply arrived
    CS_BR_CANCELED = 1u << 3,    ///< a CANCEL was sent on it
};

/// A transaction.
typedef struct cs_tx {
    uint64_t next;           ///< bucket chain: offset of the next transaction, 0 = none
    uint64_t prev;           ///< offset of the previous one, 0 = first in its bucket
    uint32_t index;          ///< its bucket
    uint32_t label;          ///< generation number within the bucket
    int32_t refcount;
    uint32_t flags;          ///< CS_TX_*
    uint64_t key_hash;       ///< the transaction key's stable hash
    uint32_t key_len;        ///< key bytes stored right after this header
    uint32_t request_len;    ///< request bytes stored right after the key
    uint32_t callid_off;     ///< Call-ID value: position within the request copy
    uint32_t callid_len;
    uint32_t method_len;     ///< the method is the first method_len bytes of the request
    uint32_t uas_status;     ///< last status sent upstream (0 none)
    uint64_t created_ms;     ///< monotonic
    cs_lock lock;            ///< the reply lock (recursive)
    cs_peer src;             ///< where the request came from (the port replies go to),
                             ///< over what, on which listen socket and connection
    uint32_t reply_len;      ///< last reply sent upstream, for retransmissions
    uint32_t uas_retransmits;
    uint64_t reply_off;
    uint64_t state_off;      ///< script state saved with the transaction (the runtime's format)
    uint32_t state_len;
    int32_t on_failure;      ///< route indices, -1 for none
    int32_t on_reply;
    int32_t on_branch;       ///< (on_branch_failure is further down, where space was free)
    uint64_t msg_flags;      ///< the script's message flags
    uint32_t fr_timeout_ms;      ///< fr_timer (or t_set_fr's second argument)
    uint32_t fr_inv_timeout_ms;  ///< fr_inv_timer (or t_set_fr's first argument)
    uint32_t resume_kind;    ///< CS_RESUME_*
    int32_t resume_route;
    int32_t resume_block;
    int32_t resume_action;
    uint64_t resume_due_ms;  ///< when an async wait ends (0: not waiting on a timer); for the dump
    uint32_t resume_group;   ///< task group that will run it (dump only)
    uint32_t branch_count;
    uint32_t async_wait_wheel; ///< which async wheel holds `async_wait` (its user's numbering; 0: none)
    int32_t on_branch_failure; ///< t_on_branch_failure's event route index, -1 none; each
                             ///< new branch copies it (cs_tx_branch.on_branch_failure)
    cs_timer_link fr;        ///< CS_TXT_FR
    cs_timer_link uas_retr;  ///< CS_TXT_UAS_RETR
    cs_timer_link wait;      ///< CS_TXT_WAIT
    cs_timer_link async_wait; ///< CS_TXT_ASYNC: armed in an async wheel; never touched by
                             ///< cs_tx_timer_disarm_all (the wait ends by firing: a resume
                             ///< of a transaction that is no longer suspended runs nothing)
    cs_tx_branch branches[CS_TX_MAX_BRANCHES];
    uint8_t data[];          ///< key_len bytes of key, then request_len bytes of request
} cs_tx;

typedef struct cs_tx_bucket {
    cs_lock lock;
    uint64_t first;          ///< offset of the first transaction, 0 = empty
    uint32_t count;
    uint32_t next_label;
} cs_tx_bucket;

/// Section "txtable".
typedef struct cs_tx_table {
    uint32_t bucket_count;   ///< a power of two
    uint32_t reserved;
    uint64_t created;        ///< transactions ever created
    uint64_t destroyed;      ///< transactions freed
    uint64_t live;           ///< created - destroyed
    uint64_t suspended;      ///< transactions suspended now
    uint64_t stale_lookups;  ///< (index, label) lookups that found nothing
    uint64_t failed_creates; ///< creations refused for want of memory
    cs_doorbell timer_bell;  ///< the `timer` process sleeps here while nothing is armed
    cs_tx_bucket buckets[];
} cs_tx_table;

_Static_assert(sizeof(cs_tx_bucket) == 64, "one bucket per cache line");
_Static_assert(sizeof(cs_tx_table) == 64, "transaction table header layout is read by respite-shm");

uint64_t cs_tx_table_bytes(uint32_t bucket_count);
/// Lays out the table (master, before fork). `bucket_count` must be a power of two.
int cs_tx_table_init(cs_tx_table *table, uint32_t bucket_count);

/// Finds the transaction whose key is `key` (hash `hash`), or creates it from `request`
/// when none exists: atomically under the bucket lock, so two receivers handling a
/// request and its retransmission never create two. `*created` tells which. The result
/// carries a reference for the caller. NULL when the arena is full (nothing created).
/// `callid_off/len` locate the Call-ID value in `request` (for respite-shm).
cs_tx *cs_tx_find_or_create(cs_arena_header *arena, cs_tx_table *table, uint64_t hash, const uint8_t *key,
                            uint32_t key_len, const uint8_t *request, uint32_t request_len, uint32_t callid_off,
                            uint32_t callid_len, uint32_t method_len, int *created);
/// As cs_tx_find_or_create, but a transaction this call creates comes back with its lock
/// held by the caller (taken before it was linked), so no other process sees it before
/// the caller has filled it in and called cs_tx_unlock.
cs_tx *cs_tx_find_or_create_locked(cs_arena_header *arena, cs_tx_table *table, uint64_t hash, const uint8_t *key,
                                   uint32_t key_len, const uint8_t *request, uint32_t request_len,
                                   uint32_t callid_off, uint32_t callid_len, uint32_t method_len, int *created);
/// Finds a transaction by key; a reference for the caller, or NULL.
cs_tx *cs_tx_lookup(cs_arena_header *arena, cs_tx_table *table, uint64_t hash, const uint8_t *key,
                    uint32_t key_len);
/// Finds a transaction by (index, label); a reference for the caller, or NULL (counted
/// as a stale lookup) when it is gone or the label belongs to an older generation.
cs_tx *cs_tx_lookup_id(cs_arena_header *arena, cs_tx_table *table, uint32_t index, uint32_t label);

void cs_tx_ref(cs_tx *tx);
/// Drops a reference; the last one frees the transaction and all its blocks.
void cs_tx_unref(cs_arena_header *arena, cs_tx_table *table, cs_tx *tx);
/// Removes it from its bucket (lookups stop finding it) and drops the table's reference.
/// Idempotent.
void cs_tx_unlink(cs_arena_header *arena, cs_tx_table *table, cs_tx *tx);

/// The reply lock. Recursive; returns CS_LOCK_OK or CS_LOCK_RECOVERED.
int cs_tx_lock(cs_tx *tx);
void cs_tx_unlock(cs_tx *tx);

/// Arms one of the transaction's timer links, taking a reference for the timer when the
/// link was not armed yet. `kind` must name the link's place in `tx` (CS_TXT_*, plus
/// `branch << 8` for a branch's links): anything else traps, because the timer process
/// finds the transaction back through it. The caller holds a reference.
void cs_tx_timer_arm(cs_arena_header *arena, cs_timer_wheel *wheel, cs_tx *tx, cs_timer_link *link,
                     uint64_t due_ms, uint32_t kind);
/// Disarms a link, dropping the timer's reference when it was armed. Returns 1 if it was.
int cs_tx_timer_disarm(cs_arena_header *arena, cs_timer_wheel *wheel, cs_tx_table *table, cs_tx *tx,
                       cs_timer_link *link);
/// Disarms every tm link of the transaction (its own and its branches'; not `async`). Every link of
/// the transaction must have been armed in `wheel` (a link is only ever disarmed in
/// the wheel that armed it).
void cs_tx_timer_disarm_all(cs_arena_header *arena, cs_timer_wheel *wheel, cs_tx_table *table, cs_tx *tx);
/// The link of `kind` (CS_TXT_*, plus `branch << 8` for a branch's links) inside `tx`, or
/// NULL for a kind that names no link of a transaction.
cs_timer_link *cs_tx_link(cs_tx *tx, uint32_t kind);
/// The transaction that contains the link at `link_offset` with kind `kind` (as handed
/// out by cs_wheel_expire), or NULL for a kind that is not a transaction's.
cs_tx *cs_tx_from_link(cs_arena_header *arena, uint64_t link_offset, uint32_t kind);

/// Replaces a stored buffer of the transaction (`*off`/`*len`: the reply, the state, a
/// branch's request or reply) with a copy of `bytes` (NULL/0 frees it). Caller holds the
/// tx lock. Returns 0, or ENOMEM leaving the old buffer in place.
int cs_tx_store(cs_arena_header *arena, uint64_t *off, uint32_t *len, const uint8_t *bytes, uint32_t count);

/// The key and request copies.
const uint8_t *cs_tx_key(const cs_tx *tx);
const uint8_t *cs_tx_request(const cs_tx *tx);

/// Adjusts the table's `suspended` gauge (+1 / -1) when a transaction is (un)suspended.
void cs_tx_count_suspended(cs_tx_table *table, int delta);

#ifdef __cplusplus
}
#endif
#endif
