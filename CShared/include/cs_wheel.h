// cs_wheel.h - timing wheels in the arena: tm's timers, the async module's second ring
// and its millisecond timer.
//
// Why this shim exists: timers must fire in a process other than the one that armed
// them (a receiver arms fr_timer; the `timer` process fires it), so the wheel and the
// links live in the arena, chained by offsets so respite-shm can show them.
//
// A wheel has `slot_count` (a power of two) slots of `tick_ms` each. A link due at
// tick T sits in slot T mod slot_count; a link more than one lap ahead stays in its slot
// and is skipped until its lap comes, so arming, disarming and firing cost O(1) per link
// and a tick costs O(links in one slot): the cost never grows with the total number of
// timers (Kamailio's ms timer keeps a sorted list with O(n) insert).
//
// A link is embedded in the structure it times (a transaction, a branch, a sleeper);
// `kind` tells the firing code which one. The wheel holds no reference itself: the
// owner of the structure decides what an armed link keeps alive.
//
// Synchronization table (one robust lock per wheel)
//   cs_wheel_init : the master, before fork.
//   cs_wheel_arm / cs_wheel_disarm : any server process; take the wheel lock.
//   cs_wheel_expire : the wheel's timer process(es); takes the lock; hands back due links
//       as offsets in the caller's array (never chained through the links, so a link
//       re-armed by another process meanwhile cannot corrupt the caller's walk).
//   readers without a lock (respite-shm) : counters and `due_ms` are plain loads; every
//       offset is validated, walks are bounded.
#ifndef CS_WHEEL_H
#define CS_WHEEL_H

#include <stdint.h>

#include "cs_arena.h"
#include "cs_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_WHEEL_NAME_MAX 24

/// A timer link, embedded in the structure it times. All fields are owned by the wheel
/// while the link is armed (slot != 0).
typedef struct cs_timer_link {
    uint64_t next;     ///< offset of the next link in the slot's list, 0 = none
    uint64_t prev;     ///< offset of the previous link, 0 = the slot head points here
    uint64_t due_ms;   ///< monotonic milliseconds when it fires
    uint32_t kind;     ///< what the link belongs to (defined by the user of the wheel)
    uint32_t slot;     ///< slot index + 1 while armed; 0 when not armed (or fired)
} cs_timer_link;

typedef struct cs_timer_wheel {
    cs_lock lock;
    char name[CS_WHEEL_NAME_MAX];
    uint32_t tick_ms;
    uint32_t slot_count;     ///< a power of two
    uint64_t last_tick;      ///< every tick up to this one has been expired
    uint64_t armed;          ///< links in the wheel now
    uint64_t armed_total;    ///< links ever armed
    uint64_t fired_total;    ///< links ever handed out by cs_wheel_expire
    uint64_t heads[];        ///< slot_count offsets of each slot's first link
} cs_timer_wheel;

_Static_assert(sizeof(cs_timer_link) == 32, "timer link layout is read by respite-shm");

/// Bytes a wheel of `slot_count` slots needs.
uint64_t cs_wheel_bytes(uint32_t slot_count);
/// Lays out a wheel (master, before fork). `slot_count` must be a power of two; `now_ms`
/// is the current monotonic time (ticks before it count as expired). Returns 0 or EINVAL.
int cs_wheel_init(cs_timer_wheel *wheel, const char *name, uint32_t tick_ms, uint32_t slot_count,
                  uint64_t now_ms);
/// Arms `link` (an arena address) to fire at `due_ms`, re-arming it if it was armed.
/// A due time in the past fires at the next expire call. Returns 1 when the link was
/// already armed (it was moved), 0 when it was newly armed.
int cs_wheel_arm(cs_arena_header *arena, cs_timer_wheel *wheel, cs_timer_link *link, uint64_t due_ms,
                  uint32_t kind);
/// Disarms `link`. Returns 1 when it was armed (it will not fire), 0 when it was not
/// (never armed, or already handed out by cs_wheel_expire).
int cs_wheel_disarm(cs_arena_header *arena, cs_timer_wheel *wheel, cs_timer_link *link);
/// Unlinks up to `max` links due at or before `now_ms` and stores their offsets in
/// `out` (each link's slot is 0 afterwards). Returns how many. When it returns `max`,
/// call it again: more may be due.
uint32_t cs_wheel_expire(cs_arena_header *arena, cs_timer_wheel *wheel, uint64_t now_ms, uint64_t *out,
                         uint32_t max);
/// The earliest due time among armed links, or 0 when none (walks the wheel: for tools
/// and tests, not for the hot path).
uint64_t cs_wheel_next_due(const void *base, uint64_t mapped_size, const cs_timer_wheel *wheel);
/// Monotonic milliseconds.
uint64_t cs_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
