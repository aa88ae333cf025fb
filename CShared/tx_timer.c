// A transaction's timer links and stored buffers: which references timers hold, how a
// fired link leads back to its transaction, and how replies, script state and branch
// messages are kept in blocks of their own.
#include <errno.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_tx.h"

_Static_assert(offsetof(cs_tx, fr) % 8 == 0, "timer links are aligned");
_Static_assert(offsetof(cs_tx_branch, retr) % 8 == 0, "branch timer links are aligned");
_Static_assert(CS_TX_MAX_BRANCHES <= 0xffffff, "a branch number fits in a link kind");

/// Offset of the link of `kind` within a cs_tx, or 0 for a kind that is not a
/// transaction's (no link sits at offset 0: the bucket chain does).
static size_t link_offset_in_tx(uint32_t kind) {
    uint32_t branch = kind >> 8;
    size_t branch_base = offsetof(cs_tx, branches) + (size_t)branch * sizeof(cs_tx_branch);
    switch (kind & 0xff) {
    case CS_TXT_FR: return branch == 0 ? offsetof(cs_tx, fr) : 0;
    case CS_TXT_UAS_RETR: return branch == 0 ? offsetof(cs_tx, uas_retr) : 0;
    case CS_TXT_WAIT: return branch == 0 ? offsetof(cs_tx, wait) : 0;
    case CS_TXT_ASYNC: return branch == 0 ? offsetof(cs_tx, async_wait) : 0;
    case CS_TXT_BRANCH_RETR:
        return branch < CS_TX_MAX_BRANCHES ? branch_base + offsetof(cs_tx_branch, retr) : 0;
    case CS_TXT_BRANCH_FR:
        return branch < CS_TX_MAX_BRANCHES ? branch_base + offsetof(cs_tx_branch, fr) : 0;
    default: return 0;
    }
}

cs_timer_link *cs_tx_link(cs_tx *tx, uint32_t kind) {
    size_t within = link_offset_in_tx(kind);
    return within == 0 ? NULL : (cs_timer_link *)((char *)tx + within);
}

cs_tx *cs_tx_from_link(cs_arena_header *arena, uint64_t link_offset, uint32_t kind) {
    size_t within = link_offset_in_tx(kind);
    if (within == 0 || link_offset < within) return NULL;
    return (cs_tx *)((char *)arena + link_offset - within);
}

void cs_tx_timer_arm(cs_arena_header *arena, cs_timer_wheel *wheel, cs_tx *tx, cs_timer_link *link,
                     uint64_t due_ms, uint32_t kind) {
    // A link armed with a kind that does not name its place in `tx` would hand the timer
    // process a wrong transaction: a programmer error, caught here rather than there.
    size_t within = link_offset_in_tx(kind);
    if (within == 0 || (char *)link != (char *)tx + within) __builtin_trap();
    // The timer's reference exists before the link can fire (and be released by the
    // timer process); the caller's own reference keeps the count above 0 throughout.
    cs_tx_ref(tx);
    if (cs_wheel_arm(arena, wheel, link, due_ms, kind) == 1) {
        // It was armed already: the timer held its reference since then.
        __atomic_sub_fetch(&tx->refcount, 1, __ATOMIC_ACQ_REL);
    }
}

int cs_tx_timer_disarm(cs_arena_header *arena, cs_timer_wheel *wheel, cs_tx_table *table, cs_tx *tx,
                       cs_timer_link *link) {
    if (cs_wheel_disarm(arena, wheel, link) != 1) return 0;
    cs_tx_unref(arena, table, tx);
    return 1;
}

void cs_tx_timer_disarm_all(cs_arena_header *arena, cs_timer_wheel *wheel, cs_tx_table *table, cs_tx *tx) {
    // Our own reference keeps the transaction alive until every link was looked at,
    // even when the timers held the last ones.
    cs_tx_ref(tx);
    cs_tx_timer_disarm(arena, wheel, table, tx, &tx->fr);
    cs_tx_timer_disarm(arena, wheel, table, tx, &tx->uas_retr);
    cs_tx_timer_disarm(arena, wheel, table, tx, &tx->wait);
    for (uint32_t b = 0; b < CS_TX_MAX_BRANCHES; b++) {
        cs_tx_timer_disarm(arena, wheel, table, tx, &tx->branches[b].retr);
        cs_tx_timer_disarm(arena, wheel, table, tx, &tx->branches[b].fr);
    }
    cs_tx_unref(arena, table, tx);
}

int cs_tx_store(cs_arena_header *arena, uint64_t *off, uint32_t *len, const uint8_t *bytes, uint32_t count) {
    void *fresh = NULL;
    if (bytes && count) {
        fresh = cs_alloc(arena, count);
        if (!fresh) return ENOMEM;
        memcpy(fresh, bytes, count);
    }
    uint64_t old = *off;
    // Published offset first, length second: a lock-free reader (respite-shm) that sees
    // a new offset with an old length still stays inside a block it validates anyway.
    __atomic_store_n(off, fresh ? (uint64_t)((char *)fresh - (char *)arena) : 0, __ATOMIC_RELEASE);
    *len = fresh ? count : 0;
    if (old) cs_free(arena, (char *)arena + old);
    return 0;
}
