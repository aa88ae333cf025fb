// The core's DNS cache (cs_dnscache.h).
#include <string.h>

#include "cs_dnscache.h"

static uint32_t *buckets(cs_dns_cache *c) { return (uint32_t *)(void *)&c->entries[c->capacity]; }

uint64_t cs_dns_cache_bytes(uint32_t capacity) {
    uint32_t b = 1;
    while (b < capacity) b <<= 1;
    return sizeof(cs_dns_cache) + (uint64_t)capacity * sizeof(cs_dns_entry) + (uint64_t)b * sizeof(uint32_t);
}

uint32_t cs_dns_cache_capacity_for(uint64_t bytes) {
    // Each entry costs itself and at most two bucket words (buckets round up to a power of two).
    uint64_t per = sizeof(cs_dns_entry) + 2 * sizeof(uint32_t);
    uint64_t n = bytes > sizeof(cs_dns_cache) ? (bytes - sizeof(cs_dns_cache)) / per : 0;
    if (n < 1) n = 1;
    if (n > (1u << 20)) n = 1u << 20;
    return (uint32_t)n;
}

// Unlinks nothing: lays every entry on the free list and empties the buckets.
static void reset(cs_dns_cache *c) {
    uint32_t *b = buckets(c);
    for (uint32_t i = 0; i < c->bucket_count; i++) b[i] = CS_DNS_NONE;
    for (uint32_t i = 0; i < c->capacity; i++) {
        cs_dns_entry *e = &c->entries[i];
        e->state = CS_DNS_FREE;
        e->next = i + 1 < c->capacity ? i + 1 : CS_DNS_NONE;
        e->lease_until_ms = 0;
    }
    c->free_head = c->capacity ? 0 : CS_DNS_NONE;
    c->used = 0;
}

void cs_dns_cache_init(cs_dns_cache *c, uint32_t capacity, uint32_t gc_interval_s, uint32_t stale_s,
                       uint32_t del_nonexp) {
    uint32_t b = 1;
    while (b < capacity) b <<= 1;
    memset(c, 0, cs_dns_cache_bytes(capacity));
    cs_lock_init(&c->lock);
    c->capacity = capacity;
    c->bucket_count = b;
    c->gc_interval_ms = gc_interval_s * 1000u;
    c->stale_ms = (uint64_t)stale_s * 1000u;
    c->del_nonexp = del_nonexp ? 1 : 0;
    reset(c);
}

cs_dns_entry *cs_dns_entry_at(cs_dns_cache *c, uint32_t index) {
    return index < c->capacity ? &c->entries[index] : NULL;
}

static void lock_cache(cs_dns_cache *c) {
    if (cs_lock_acquire(&c->lock) == CS_LOCK_RECOVERED) {
        reset(c);
        c->flushes++;
    }
}

static uint8_t lower(uint8_t ch) { return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch; }

// FNV-1a over the lower-cased name and the type.
static uint32_t hash_key(const char *name, uint32_t len, uint16_t type) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++) h = (h ^ lower((uint8_t)name[i])) * 16777619u;
    h = (h ^ (type & 0xff)) * 16777619u;
    return (h ^ (type >> 8)) * 16777619u;
}

static int same_name(const cs_dns_entry *e, const char *name, uint32_t len) {
    for (uint32_t i = 0; i < len; i++)
        if (lower((uint8_t)e->name[i]) != lower((uint8_t)name[i])) return 0;
    return e->name[len] == 0;
}

static uint32_t find(cs_dns_cache *c, const char *name, uint32_t len, uint16_t type, uint32_t hash) {
    for (uint32_t i = buckets(c)[hash & (c->bucket_count - 1)]; i != CS_DNS_NONE && i < c->capacity;
         i = c->entries[i].next) {
        cs_dns_entry *e = &c->entries[i];
        if (e->hash == hash && e->type == type && same_name(e, name, len)) return i;
    }
    return CS_DNS_NONE;
}

static void unlink_entry(cs_dns_cache *c, uint32_t index) {
    cs_dns_entry *e = &c->entries[index];
    uint32_t *link = &buckets(c)[e->hash & (c->bucket_count - 1)];
    while (*link != CS_DNS_NONE && *link < c->capacity) {
        if (*link == index) {
            *link = e->next;
            break;
        }
        link = &c->entries[*link].next;
    }
    __atomic_store_n(&e->state, CS_DNS_FREE, __ATOMIC_RELEASE);
    e->lease_until_ms = 0;
    e->next = c->free_head;
    c->free_head = index;
    c->used--;
}

static int lease_active(const cs_dns_entry *e, uint64_t now) { return e->lease_until_ms > now; }

// The entry to give up when none is free: the least recently used expired answer (or
// ended placeholder), else, when allowed, the least recently used live answer. Entries
// under a lease are never taken.
static uint32_t victim(cs_dns_cache *c, uint64_t now) {
    uint32_t best = CS_DNS_NONE, live = CS_DNS_NONE;
    for (uint32_t i = 0; i < c->capacity; i++) {
        cs_dns_entry *e = &c->entries[i];
        if (e->state == CS_DNS_FREE || lease_active(e, now)) continue;
        int expired = e->state == CS_DNS_RESOLVING || e->expires_ms <= now;
        if (expired) {
            if (best == CS_DNS_NONE || e->last_used_ms < c->entries[best].last_used_ms) best = i;
        } else if (live == CS_DNS_NONE || e->last_used_ms < c->entries[live].last_used_ms) {
            live = i;
        }
    }
    if (best != CS_DNS_NONE) {
        c->evicted_expired++;
        return best;
    }
    if (live != CS_DNS_NONE && c->del_nonexp) {
        c->evicted_live++;
        return live;
    }
    return CS_DNS_NONE;
}

// A free entry keyed (name, type), linked into its bucket, state RESOLVING; CS_DNS_NONE
// when nothing can be freed.
static uint32_t take(cs_dns_cache *c, const char *name, uint32_t len, uint16_t type, uint32_t hash, uint64_t now) {
    if (c->free_head == CS_DNS_NONE) {
        uint32_t v = victim(c, now);
        if (v == CS_DNS_NONE) return CS_DNS_NONE;
        unlink_entry(c, v);
    }
    uint32_t index = c->free_head;
    cs_dns_entry *e = &c->entries[index];
    c->free_head = e->next;
    c->used++;
    if (c->used > c->high_water) c->high_water = c->used;
    memset(e, 0, sizeof(*e));
    memcpy(e->name, name, len);
    for (uint32_t i = 0; i < len; i++) e->name[i] = (char)lower((uint8_t)e->name[i]);
    e->type = type;
    e->hash = hash;
    e->last_used_ms = now;
    uint32_t *head = &buckets(c)[hash & (c->bucket_count - 1)];
    e->next = *head;
    *head = index;
    __atomic_store_n(&e->state, CS_DNS_RESOLVING, __ATOMIC_RELEASE);
    return index;
}

static uint32_t gc_locked(cs_dns_cache *c, uint64_t now) {
    uint32_t freed = 0;
    for (uint32_t i = 0; i < c->capacity; i++) {
        cs_dns_entry *e = &c->entries[i];
        if (e->state == CS_DNS_FREE || lease_active(e, now)) continue;
        if (e->state == CS_DNS_RESOLVING || e->expires_ms + c->stale_ms <= now) {
            unlink_entry(c, i);
            freed++;
        }
    }
    c->gc_runs++;
    c->gc_freed += freed;
    c->next_gc_ms = now + c->gc_interval_ms;
    return freed;
}

cs_dns_result cs_dns_get(cs_dns_cache *c, const char *name, uint32_t len, uint16_t type, uint64_t now,
                         int32_t pid, uint32_t lease_ms, cs_dns_entry *out) {
    if (len == 0 || len >= CS_DNS_NAME_MAX) return CS_DNS_FULL;
    uint32_t hash = hash_key(name, len, type);
    lock_cache(c);
    c->lookups++;
    if (c->gc_interval_ms && now >= c->next_gc_ms) gc_locked(c, now);
    uint32_t index = find(c, name, len, type, hash);
    cs_dns_result result;
    if (index == CS_DNS_NONE) {
        index = take(c, name, len, type, hash, now);
        if (index == CS_DNS_NONE) {
            c->full++;
            cs_lock_release(&c->lock);
            return CS_DNS_FULL;
        }
        c->misses++;
        c->entries[index].lease_until_ms = now + lease_ms;
        c->entries[index].lease_pid = pid;
        cs_lock_release(&c->lock);
        return CS_DNS_MISS_CLAIMED;
    }
    cs_dns_entry *e = &c->entries[index];
    if (e->state == CS_DNS_RESOLVING) {
        if (lease_active(e, now)) {
            c->busy++;
            result = CS_DNS_MISS_BUSY;
        } else {
            c->misses++;
            e->lease_until_ms = now + lease_ms;
            e->lease_pid = pid;
            result = CS_DNS_MISS_CLAIMED;
        }
        cs_lock_release(&c->lock);
        return result;
    }
    e->last_used_ms = now;
    if (now < e->expires_ms) {
        e->hits++;
        c->hits++;
        if (e->state == CS_DNS_NEGATIVE) c->negative_hits++;
        result = CS_DNS_HIT;
    } else if (e->expires_ms + c->stale_ms <= now && !lease_active(e, now)) {
        // Too old to serve: as good as missing. The entry becomes the placeholder.
        c->misses++;
        e->state = CS_DNS_RESOLVING;
        e->record_count = 0;
        e->data_len = 0;
        e->lease_until_ms = now + lease_ms;
        e->lease_pid = pid;
        cs_lock_release(&c->lock);
        return CS_DNS_MISS_CLAIMED;
    } else if (lease_active(e, now)) {
        c->stale_served++;
        c->busy++;
        result = CS_DNS_STALE_BUSY;
    } else {
        c->stale_served++;
        e->lease_until_ms = now + lease_ms;
        e->lease_pid = pid;
        result = CS_DNS_STALE_CLAIMED;
    }
    memcpy(out, e, sizeof(*out));
    cs_lock_release(&c->lock);
    return result;
}

int cs_dns_put(cs_dns_cache *c, const char *name, uint32_t len, uint16_t type, uint64_t now, uint32_t state,
               uint32_t ttl_s, uint16_t rcode, const uint8_t *data, uint32_t data_len, uint32_t count) {
    if (len == 0 || len >= CS_DNS_NAME_MAX || data_len > CS_DNS_DATA_MAX || count > 0xFFFF) return -1;
    if (state != CS_DNS_POSITIVE && state != CS_DNS_NEGATIVE) return -1;
    uint32_t hash = hash_key(name, len, type);
    lock_cache(c);
    uint32_t index = find(c, name, len, type, hash);
    if (index == CS_DNS_NONE) index = take(c, name, len, type, hash, now);
    if (index == CS_DNS_NONE) {
        c->full++;
        cs_lock_release(&c->lock);
        return -1;
    }
    cs_dns_entry *e = &c->entries[index];
    if (data_len) memcpy(e->data, data, data_len);
    e->data_len = (uint16_t)data_len;
    e->record_count = (uint16_t)count;
    e->rcode = rcode;
    e->ttl = ttl_s;
    e->stored_ms = now;
    e->expires_ms = now + (uint64_t)ttl_s * 1000u;
    e->lease_until_ms = 0;
    e->lease_pid = 0;
    __atomic_store_n(&e->state, state, __ATOMIC_RELEASE);
    c->stored++;
    cs_lock_release(&c->lock);
    return 0;
}

void cs_dns_release(cs_dns_cache *c, const char *name, uint32_t len, uint16_t type) {
    if (len == 0 || len >= CS_DNS_NAME_MAX) return;
    uint32_t hash = hash_key(name, len, type);
    lock_cache(c);
    uint32_t index = find(c, name, len, type, hash);
    if (index != CS_DNS_NONE) {
        cs_dns_entry *e = &c->entries[index];
        if (e->state == CS_DNS_RESOLVING) {
            unlink_entry(c, index);
        } else {
            e->lease_until_ms = 0;
            e->lease_pid = 0;
        }
    }
    cs_lock_release(&c->lock);
}

uint32_t cs_dns_gc(cs_dns_cache *c, uint64_t now) {
    lock_cache(c);
    uint32_t freed = gc_locked(c, now);
    cs_lock_release(&c->lock);
    return freed;
}

uint32_t cs_dns_flush(cs_dns_cache *c) {
    lock_cache(c);
    uint32_t was = c->used;
    reset(c);
    c->flushes++;
    cs_lock_release(&c->lock);
    return was;
}

void cs_dns_count(cs_dns_cache *c, cs_dns_counter counter) {
    switch (counter) {
    case CS_DNS_COUNT_QUERIES: __atomic_add_fetch(&c->queries, 1, __ATOMIC_RELAXED); break;
    case CS_DNS_COUNT_TIMEOUTS: __atomic_add_fetch(&c->timeouts, 1, __ATOMIC_RELAXED); break;
    case CS_DNS_COUNT_ERRORS: __atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED); break;
    }
}
