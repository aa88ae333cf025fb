// Timing wheels: slots of doubly linked timer links, chained by arena offsets.
//
// A link due at `due_ms` belongs to tick `due_ms / tick_ms` and sits in slot
// `tick & (slot_count - 1)`. `last_tick` is the last tick whose whole time span has
// passed and whose slot was walked; every armed link belongs to a later tick, except the
// links armed with a due time at or before `last_tick`, which go to the slot of
// `last_tick + 1` so that they fire at the next expire call.
//
// Expiring walks the slots of ticks `last_tick + 1 .. now_ms / tick_ms` (at least the
// first of them, at most one lap) and fires the links that are due (`due_ms <= now_ms`);
// links of a later lap share a slot with due ones and are simply left there. The tick of `now_ms` itself is walked but only counts
// as processed once its last millisecond has passed, so a link due later within the
// current tick is met again by the next call, never skipped for a lap.
#include "cs_wheel.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cs_alloc.h"

uint64_t cs_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

uint64_t cs_wheel_bytes(uint32_t slot_count) {
    return sizeof(cs_timer_wheel) + (uint64_t)slot_count * sizeof(uint64_t);
}

int cs_wheel_init(cs_timer_wheel *wheel, const char *name, uint32_t tick_ms, uint32_t slot_count,
                  uint64_t now_ms) {
    if (tick_ms == 0 || slot_count == 0 || (slot_count & (slot_count - 1)) != 0) return EINVAL;
    size_t len = name ? strlen(name) : 0;
    if (len >= CS_WHEEL_NAME_MAX) return EINVAL;
    memset(wheel, 0, cs_wheel_bytes(slot_count));
    int rc = cs_lock_init(&wheel->lock);
    if (rc != 0) return rc;
    memcpy(wheel->name, name, len);
    wheel->tick_ms = tick_ms;
    wheel->slot_count = slot_count;
    // The current tick has not fully passed yet: it is the first one expire will walk.
    uint64_t tick = now_ms / tick_ms;
    wheel->last_tick = tick > 0 ? tick - 1 : 0;
    return 0;
}

// ---- links (caller holds the wheel lock) ----

static inline cs_timer_link *link_at(cs_arena_header *arena, uint64_t offset) {
    return (cs_timer_link *)((char *)arena + offset);
}

static inline uint64_t offset_of(cs_arena_header *arena, const void *p) {
    return (uint64_t)((const char *)p - (const char *)arena);
}

/// Whether a link at `offset` lies inside the allocator's heap, where every structure
/// that embeds a link is allocated.
static int link_in_heap(const cs_arena_header *arena, uint64_t offset) {
    const cs_allocator *c = (const cs_allocator *)((const char *)arena + arena->allocator_offset);
    return (offset & 7) == 0 && offset >= c->heap_start && offset <= c->heap_end &&
           c->heap_end - offset >= sizeof(cs_timer_link);
}

/// Unlinks an armed link. A link that claims a slot but is not where its neighbours say
/// (left half-linked by a process killed inside arm) is only marked unarmed; returns 0
/// then, because nobody can tell whether it ever held anything.
static int unlink_link(cs_arena_header *arena, cs_timer_wheel *wheel, cs_timer_link *link) {
    uint32_t slot = link->slot;
    uint64_t off = offset_of(arena, link);
    link->slot = 0;
    if (slot == 0 || slot > wheel->slot_count) return 0;
    uint64_t *from = link->prev ? &link_at(arena, link->prev)->next : &wheel->heads[slot - 1];
    if (*from != off) return 0;
    __atomic_store_n(from, link->next, __ATOMIC_RELEASE);
    if (link->next) link_at(arena, link->next)->prev = link->prev;
    link->next = 0;
    link->prev = 0;
    wheel->armed--;
    return 1;
}

/// Puts an unarmed link at the head of slot `slot` (0-based).
static void push_link(cs_arena_header *arena, cs_timer_wheel *wheel, cs_timer_link *link, uint32_t slot) {
    uint64_t off = offset_of(arena, link);
    uint64_t head = wheel->heads[slot];
    link->next = head;
    link->prev = 0;
    link->slot = slot + 1;
    if (head) link_at(arena, head)->prev = off;
    __atomic_store_n(&wheel->heads[slot], off, __ATOMIC_RELEASE);
    wheel->armed++;
}

/// After a holder died: walk every slot, cut it at the first link that leaves the heap,
/// belongs to another slot or closes a cycle (the walk is bounded by what the heap can
/// hold), repair the back links and recount. Cut links stay unfired (their owners'
/// references leak), which is the price of a process killed inside the wheel.
static void repair_wheel(cs_arena_header *arena, cs_timer_wheel *wheel) {
    const cs_allocator *c = (const cs_allocator *)((const char *)arena + arena->allocator_offset);
    uint64_t budget = (c->heap_end - c->heap_start) / sizeof(cs_timer_link) + 1;
    uint64_t armed = 0;
    for (uint32_t s = 0; s < wheel->slot_count; s++) {
        uint64_t *from = &wheel->heads[s];
        uint64_t prev = 0;
        while (*from != 0) {
            uint64_t o = *from;
            if (!link_in_heap(arena, o) || budget == 0 || link_at(arena, o)->slot != s + 1) {
                *from = 0;
                break;
            }
            budget--;
            cs_timer_link *l = link_at(arena, o);
            l->prev = prev;
            prev = o;
            armed++;
            from = &l->next;
        }
    }
    wheel->armed = armed;
}

static void lock_wheel(cs_arena_header *arena, cs_timer_wheel *wheel) {
    if (cs_lock_acquire(&wheel->lock) == CS_LOCK_RECOVERED) repair_wheel(arena, wheel);
}

// ---- operations ----

int cs_wheel_arm(cs_arena_header *arena, cs_timer_wheel *wheel, cs_timer_link *link, uint64_t due_ms,
                 uint32_t kind) {
    lock_wheel(arena, wheel);
    int was_armed = unlink_link(arena, wheel, link);
    uint64_t tick = due_ms / wheel->tick_ms;
    if (tick <= wheel->last_tick) tick = wheel->last_tick + 1;
    link->due_ms = due_ms;
    link->kind = kind;
    push_link(arena, wheel, link, (uint32_t)(tick & (wheel->slot_count - 1)));
    __atomic_add_fetch(&wheel->armed_total, 1, __ATOMIC_RELAXED);
    cs_lock_release(&wheel->lock);
    return was_armed;
}

int cs_wheel_disarm(cs_arena_header *arena, cs_timer_wheel *wheel, cs_timer_link *link) {
    lock_wheel(arena, wheel);
    int was_armed = unlink_link(arena, wheel, link);
    cs_lock_release(&wheel->lock);
    return was_armed;
}

/// Fires the due links of slot `slot` into `out[*n..max)`. Returns 1 when the slot was
/// walked to its end, 0 when `max` stopped it (its remaining due links stay).
static int expire_slot(cs_arena_header *arena, cs_timer_wheel *wheel, uint32_t slot, uint64_t now_ms,
                       uint64_t *out, uint32_t max, uint32_t *n) {
    uint64_t o = wheel->heads[slot];
    while (o != 0) {
        cs_timer_link *l = link_at(arena, o);
        uint64_t next = l->next;
        if (l->due_ms <= now_ms) {
            if (*n == max) return 0;
            unlink_link(arena, wheel, l);
            out[(*n)++] = o;
        }
        o = next;
    }
    return 1;
}

uint32_t cs_wheel_expire(cs_arena_header *arena, cs_timer_wheel *wheel, uint64_t now_ms, uint64_t *out,
                         uint32_t max) {
    uint32_t n = 0;
    lock_wheel(arena, wheel);
    uint64_t now_tick = now_ms / wheel->tick_ms;
    // The tick of `now_ms` is complete only when its last millisecond has passed.
    uint64_t done_tick = (now_ms + 1) % wheel->tick_ms == 0 ? now_tick : now_tick - (now_tick > 0);
    // At least the slot of last_tick + 1 is walked, even within an already processed
    // tick: links armed with a due time in the past wait there for the next call.
    uint64_t first = wheel->last_tick + 1;
    uint64_t last = now_tick > first ? now_tick : first;
    int whole_lap = last - first + 1 >= wheel->slot_count;
    if (whole_lap) last = first + wheel->slot_count - 1;
    int complete = 1;
    for (uint64_t t = first; t <= last; t++) {
        if (!expire_slot(arena, wheel, (uint32_t)(t & (wheel->slot_count - 1)), now_ms, out, max, &n)) {
            complete = 0;
            break;
        }
        if (t <= done_tick) wheel->last_tick = t;
    }
    // A whole lap walked at `now_ms` fired everything due: the ticks it skipped over
    // hold nothing more, so a long pause costs one lap, never one per missed tick.
    if (whole_lap && complete && done_tick > wheel->last_tick) wheel->last_tick = done_tick;
    __atomic_add_fetch(&wheel->fired_total, n, __ATOMIC_RELAXED);
    cs_lock_release(&wheel->lock);
    return n;
}

uint64_t cs_wheel_next_due(const void *base, uint64_t mapped_size, const cs_timer_wheel *wheel) {
    const char *b = (const char *)base;
    const char *w = (const char *)wheel;
    if (w < b || (uint64_t)(w - b) > mapped_size || mapped_size - (uint64_t)(w - b) < sizeof(cs_timer_wheel)) return 0;
    uint32_t slots = wheel->slot_count;
    if (slots == 0 || (slots & (slots - 1)) != 0) return 0;
    if (mapped_size - (uint64_t)(w - b) < cs_wheel_bytes(slots)) return 0;
    uint64_t budget = mapped_size / sizeof(cs_timer_link) + 1;
    uint64_t lowest = sizeof(cs_arena_header);
    uint64_t best = 0;
    for (uint32_t s = 0; s < slots; s++) {
        uint64_t o = __atomic_load_n(&wheel->heads[s], __ATOMIC_ACQUIRE);
        while (o != 0) {
            if ((o & 7) || o < lowest || o > mapped_size - sizeof(cs_timer_link) || budget-- == 0) break;
            const cs_timer_link *l = (const cs_timer_link *)(b + o);
            if (l->slot != s + 1) break;
            if (best == 0 || l->due_ms < best) best = l->due_ms;
            o = __atomic_load_n(&l->next, __ATOMIC_ACQUIRE);
        }
    }
    return best;
}
