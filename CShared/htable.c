// Shared hash tables: buckets with recursive robust locks, items chained by offsets.
#include "cs_htable.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cs_alloc.h"

uint32_t cs_htable_hash(const char *key, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)key[i];
        h *= 16777619u;
    }
    return h;
}

uint64_t cs_htable_now_ms(void) { return cs_now_ns() / 1000000ull; }

static uint64_t align64(uint64_t v) { return (v + 63) & ~63ull; }

uint64_t cs_htable_dir_bytes(uint32_t capacity, uint64_t total_buckets) {
    return align64(sizeof(cs_htable_dir) + (uint64_t)capacity * sizeof(cs_htable)) +
           total_buckets * sizeof(cs_htable_bucket);
}

void cs_htable_dir_init(cs_htable_dir *dir, uint32_t capacity, uint64_t bytes) {
    memset(dir, 0, sizeof(*dir) + (size_t)capacity * sizeof(cs_htable));
    dir->capacity = capacity;
    dir->bytes = bytes;
    dir->used = align64(sizeof(cs_htable_dir) + (uint64_t)capacity * sizeof(cs_htable));
}

cs_htable *cs_htable_find(cs_htable_dir *dir, const char *name, size_t len) {
    if (len == 0 || len >= CS_HTABLE_NAME_MAX) return NULL;
    uint32_t count = __atomic_load_n(&dir->count, __ATOMIC_ACQUIRE);
    if (count > dir->capacity) count = dir->capacity;
    for (uint32_t i = 0; i < count; i++) {
        const char *n = dir->tables[i].name;
        if (memcmp(n, name, len) == 0 && n[len] == 0) return &dir->tables[i];
    }
    return NULL;
}

int cs_htable_add(cs_arena_header *arena, cs_htable_dir *dir, const char *name, uint32_t size_log2,
                  uint32_t autoexpire, int has_initval, int64_t initval, cs_htable **out) {
    size_t len = strlen(name);
    if (len == 0 || len >= CS_HTABLE_NAME_MAX) return EINVAL;
    if (size_log2 < CS_HTABLE_SIZE_MIN || size_log2 > CS_HTABLE_SIZE_MAX) return EINVAL;
    if (cs_htable_find(dir, name, len)) return EEXIST;
    uint64_t buckets = 1ull << size_log2;
    uint64_t need = buckets * sizeof(cs_htable_bucket);
    if (dir->count >= dir->capacity || dir->used > dir->bytes || need > dir->bytes - dir->used) return ENOSPC;
    cs_htable_bucket *array = (cs_htable_bucket *)((char *)dir + dir->used);
    memset(array, 0, need);
    for (uint64_t i = 0; i < buckets; i++) {
        int rc = cs_lock_init_recursive(&array[i].lock);
        if (rc != 0) return rc;
    }
    cs_htable *t = &dir->tables[dir->count];
    memset(t, 0, sizeof(*t));
    memcpy(t->name, name, len);
    t->size_log2 = size_log2;
    t->bucket_count = (uint32_t)buckets;
    t->autoexpire = autoexpire;
    t->has_initval = has_initval ? 1 : 0;
    t->initval = initval;
    t->buckets_offset = (uint64_t)((char *)array - (char *)arena);
    dir->used += need;
    __atomic_store_n(&dir->count, dir->count + 1, __ATOMIC_RELEASE);
    if (out) *out = t;
    return 0;
}

// ---- buckets and chains (caller holds the bucket lock) ----

static inline cs_htable_bucket *bucket_of(cs_arena_header *arena, cs_htable *t, uint32_t hash) {
    cs_htable_bucket *array = (cs_htable_bucket *)((char *)arena + t->buckets_offset);
    return &array[hash & (t->bucket_count - 1)];
}

static inline cs_htable_item *item_at(cs_arena_header *arena, uint64_t offset) {
    return offset ? (cs_htable_item *)((char *)arena + offset) : NULL;
}

static inline uint64_t offset_of(cs_arena_header *arena, const void *p) {
    return (uint64_t)((const char *)p - (const char *)arena);
}

static inline const char *key_of(const cs_htable_item *it) { return (const char *)(it + 1); }

static inline int is_expired(const cs_htable_item *it, uint64_t now_ms) {
    return it->expires_ms != 0 && it->expires_ms <= now_ms;
}

/// After a holder died: cut the chain at the first link that leaves the heap or is
/// misaligned, recount, and correct the table's item counter.
static void repair_bucket(cs_arena_header *arena, cs_htable *t, cs_htable_bucket *b) {
    const cs_allocator *c = (const cs_allocator *)((const char *)arena + arena->allocator_offset);
    uint64_t limit = (c->heap_end - c->heap_start) / sizeof(cs_htable_item);
    uint64_t *link = &b->first;
    uint32_t count = 0;
    while (*link != 0) {
        uint64_t o = *link;
        const cs_htable_item *it = item_at(arena, o);
        int bad = (o & 15) || o < c->heap_start || o > c->heap_end - sizeof(cs_htable_item) || limit-- == 0 ||
                  (uint64_t)it->key_len + it->str_len > c->heap_end - o - sizeof(cs_htable_item);
        if (bad) {
            *link = 0;
            break;
        }
        count++;
        link = &item_at(arena, o)->next;
    }
    int64_t delta = (int64_t)count - (int64_t)b->count;
    b->count = count;
    __atomic_add_fetch(&t->items, (uint64_t)delta, __ATOMIC_RELAXED);
}

/// Takes a bucket's lock (nesting allowed) and counts the depth. After a holder died
/// the mutex comes back at depth 1 whatever the dead holder's depth was, so the count
/// restarts and the bucket is repaired. Returns CS_LOCK_OK or CS_LOCK_RECOVERED.
static int acquire_bucket(cs_arena_header *arena, cs_htable *t, cs_htable_bucket *b) {
    int rc = cs_lock_acquire(&b->lock);
    if (rc == CS_LOCK_RECOVERED) {
        b->depth = 0;
        repair_bucket(arena, t, b);
    }
    b->depth++;
    return rc;
}

/// Releases one level. Only the outermost release goes through cs_lock_release (which
/// clears holder_pid), so respite-shm keeps showing an sht_lock holder in between.
static void release_bucket(cs_htable_bucket *b) {
    if (--b->depth == 0) cs_lock_release(&b->lock);
    else pthread_mutex_unlock(&b->lock.mutex);
}

static cs_htable_bucket *lock_bucket(cs_arena_header *arena, cs_htable *t, uint32_t hash) {
    cs_htable_bucket *b = bucket_of(arena, t, hash);
    acquire_bucket(arena, t, b);
    return b;
}

/// Unlinks the item that `link` points at and frees it.
static void unlink_item(cs_arena_header *arena, cs_htable *t, cs_htable_bucket *b, uint64_t *link) {
    cs_htable_item *it = item_at(arena, *link);
    __atomic_store_n(link, it->next, __ATOMIC_RELEASE);
    b->count--;
    __atomic_sub_fetch(&t->items, 1, __ATOMIC_RELAXED);
    cs_free(arena, it);
}

/// The link that points at `key`'s item (so the caller can replace or unlink it), or
/// NULL. Expired items met on the way are removed.
static uint64_t *find_link(cs_arena_header *arena, cs_htable *t, cs_htable_bucket *b, uint32_t hash,
                           const char *key, size_t key_len) {
    uint64_t now = 0;
    uint64_t *link = &b->first;
    while (*link != 0) {
        cs_htable_item *it = item_at(arena, *link);
        if (it->expires_ms != 0) {
            if (now == 0) now = cs_htable_now_ms();
            if (is_expired(it, now)) {
                unlink_item(arena, t, b, link);
                continue;
            }
        }
        if (it->hash == hash && it->key_len == key_len && memcmp(key_of(it), key, key_len) == 0) return link;
        link = &it->next;
    }
    return NULL;
}

static uint64_t fresh_expiry(const cs_htable *t) {
    return t->autoexpire ? cs_htable_now_ms() + (uint64_t)t->autoexpire * 1000ull : 0;
}

/// A new, unlinked item for `key` with room for `str_len` string bytes; NULL when full.
static cs_htable_item *new_item(cs_arena_header *arena, const cs_htable *t, uint32_t hash, const char *key,
                                size_t key_len, size_t str_len) {
    cs_htable_item *it = cs_alloc(arena, sizeof(cs_htable_item) + key_len + str_len);
    if (!it) return NULL;
    it->next = 0;
    it->hash = hash;
    it->key_len = (uint32_t)key_len;
    it->expires_ms = fresh_expiry(t);
    it->int_value = 0;
    it->type = CS_VALUE_INT;
    it->str_len = (uint32_t)str_len;
    memcpy((char *)(it + 1), key, key_len);
    return it;
}

/// Publishes a complete item at the head of the bucket.
static void push_item(cs_arena_header *arena, cs_htable *t, cs_htable_bucket *b, cs_htable_item *it) {
    it->next = b->first;
    __atomic_store_n(&b->first, offset_of(arena, it), __ATOMIC_RELEASE);
    b->count++;
    __atomic_add_fetch(&t->items, 1, __ATOMIC_RELAXED);
}

// ---- operations ----

int cs_htable_get(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                  cs_value *out, char *buffer, size_t capacity) {
    memset(out, 0, sizeof(*out));
    uint32_t hash = cs_htable_hash(key, key_len);
    cs_htable_bucket *b = lock_bucket(arena, table, hash);
    uint64_t *link = find_link(arena, table, b, hash, key, key_len);
    int rc = 0;
    if (link) {
        const cs_htable_item *it = item_at(arena, *link);
        out->type = it->type;
        out->int_value = it->int_value;
        if (it->type == CS_VALUE_STRING) {
            out->str_len = it->str_len;
            if (it->str_len > capacity) rc = ERANGE;
            else memcpy(buffer, key_of(it) + it->key_len, it->str_len);
        }
    } else if (table->has_initval) {
        out->type = CS_VALUE_INT;
        out->int_value = table->initval;
    }
    release_bucket(b);
    return rc;
}

int cs_htable_set_int(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                      int64_t value) {
    if (key_len > UINT32_MAX) return EINVAL;
    uint32_t hash = cs_htable_hash(key, key_len);
    cs_htable_bucket *b = lock_bucket(arena, table, hash);
    uint64_t *link = find_link(arena, table, b, hash, key, key_len);
    int rc = 0;
    if (link) {
        // In place: the item keeps its block; a string's bytes simply go unused.
        cs_htable_item *it = item_at(arena, *link);
        it->int_value = value;
        it->type = CS_VALUE_INT;
        it->str_len = 0;
        it->expires_ms = fresh_expiry(table);
    } else {
        cs_htable_item *it = new_item(arena, table, hash, key, key_len, 0);
        if (it) {
            it->int_value = value;
            push_item(arena, table, b, it);
        } else {
            rc = ENOMEM;
        }
    }
    release_bucket(b);
    return rc;
}

int cs_htable_set_string(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                         const char *bytes, size_t len) {
    if (key_len > UINT32_MAX || len > UINT32_MAX) return EINVAL;
    uint32_t hash = cs_htable_hash(key, key_len);
    // Built completely before the lock is taken; published with one store under it.
    cs_htable_item *fresh = new_item(arena, table, hash, key, key_len, len);
    if (!fresh) return ENOMEM;
    fresh->type = CS_VALUE_STRING;
    memcpy((char *)(fresh + 1) + key_len, bytes, len);
    cs_htable_bucket *b = lock_bucket(arena, table, hash);
    uint64_t *link = find_link(arena, table, b, hash, key, key_len);
    cs_htable_item *old = NULL;
    if (link) {
        old = item_at(arena, *link);
        fresh->next = old->next;
        __atomic_store_n(link, offset_of(arena, fresh), __ATOMIC_RELEASE);
    } else {
        push_item(arena, table, b, fresh);
    }
    release_bucket(b);
    cs_free(arena, old);
    return 0;
}

int cs_htable_increment(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                        int64_t delta, int64_t *result) {
    if (key_len > UINT32_MAX) return EINVAL;
    uint32_t hash = cs_htable_hash(key, key_len);
    cs_htable_bucket *b = lock_bucket(arena, table, hash);
    uint64_t *link = find_link(arena, table, b, hash, key, key_len);
    int rc = 0;
    if (link) {
        cs_htable_item *it = item_at(arena, *link);
        if (it->type != CS_VALUE_INT) {
            rc = EINVAL;
        } else {
            it->int_value = (int64_t)((uint64_t)it->int_value + (uint64_t)delta);
            it->expires_ms = fresh_expiry(table);
            *result = it->int_value;
        }
    } else {
        cs_htable_item *it = new_item(arena, table, hash, key, key_len, 0);
        if (it) {
            int64_t start = table->has_initval ? table->initval : 0;
            it->int_value = (int64_t)((uint64_t)start + (uint64_t)delta);
            *result = it->int_value;
            push_item(arena, table, b, it);
        } else {
            rc = ENOMEM;
        }
    }
    release_bucket(b);
    return rc;
}

int cs_htable_set_expire(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                         uint32_t seconds) {
    uint32_t hash = cs_htable_hash(key, key_len);
    cs_htable_bucket *b = lock_bucket(arena, table, hash);
    uint64_t *link = find_link(arena, table, b, hash, key, key_len);
    if (link) item_at(arena, *link)->expires_ms = seconds ? cs_htable_now_ms() + (uint64_t)seconds * 1000ull : 0;
    release_bucket(b);
    return link ? 0 : ENOENT;
}

int cs_htable_get_expire(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len,
                         uint64_t *remaining_ms) {
    uint32_t hash = cs_htable_hash(key, key_len);
    cs_htable_bucket *b = lock_bucket(arena, table, hash);
    uint64_t *link = find_link(arena, table, b, hash, key, key_len);
    if (link) {
        uint64_t at = item_at(arena, *link)->expires_ms, now = cs_htable_now_ms();
        *remaining_ms = at == 0 ? 0 : (at > now ? at - now : 1);
    }
    release_bucket(b);
    return link ? 0 : ENOENT;
}

int cs_htable_remove(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len) {
    uint32_t hash = cs_htable_hash(key, key_len);
    cs_htable_bucket *b = lock_bucket(arena, table, hash);
    uint64_t *link = find_link(arena, table, b, hash, key, key_len);
    if (link) unlink_item(arena, table, b, link);
    release_bucket(b);
    return link ? 0 : ENOENT;
}

/// Removes the items of every bucket for which `expired_only` allows it.
static uint64_t sweep(cs_arena_header *arena, cs_htable *table, int expired_only, uint64_t now_ms) {
    uint64_t removed = 0;
    cs_htable_bucket *array = (cs_htable_bucket *)((char *)arena + table->buckets_offset);
    for (uint32_t i = 0; i < table->bucket_count; i++) {
        cs_htable_bucket *b = &array[i];
        if (__atomic_load_n(&b->first, __ATOMIC_ACQUIRE) == 0) continue;
        acquire_bucket(arena, table, b);
        uint64_t *link = &b->first;
        while (*link != 0) {
            cs_htable_item *it = item_at(arena, *link);
            if (!expired_only || is_expired(it, now_ms)) {
                unlink_item(arena, table, b, link);
                removed++;
            } else {
                link = &it->next;
            }
        }
        release_bucket(b);
    }
    return removed;
}

uint64_t cs_htable_reset(cs_arena_header *arena, cs_htable *table) { return sweep(arena, table, 0, 0); }

uint64_t cs_htable_purge_expired(cs_arena_header *arena, cs_htable *table, uint64_t now_ms) {
    return sweep(arena, table, 1, now_ms);
}

int cs_htable_lock_key(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len) {
    return acquire_bucket(arena, table, bucket_of(arena, table, cs_htable_hash(key, key_len)));
}

void cs_htable_unlock_key(cs_arena_header *arena, cs_htable *table, const char *key, size_t key_len) {
    cs_htable_bucket *b = bucket_of(arena, table, cs_htable_hash(key, key_len));
    // Unlocking a bucket this process does not hold is a script error (sht_unlock
    // without sht_lock); it must not disturb the holder's depth count.
    if (__atomic_load_n(&b->lock.holder_pid, __ATOMIC_RELAXED) != (int32_t)getpid()) return;
    release_bucket(b);
}

uint64_t cs_htable_visit(cs_arena_header *arena, cs_htable *table, cs_htable_visitor visitor,
                         void *context) {
    uint64_t visited = 0;
    cs_htable_bucket *array = (cs_htable_bucket *)((char *)arena + table->buckets_offset);
    for (uint32_t i = 0; i < table->bucket_count; i++) {
        cs_htable_bucket *b = &array[i];
        acquire_bucket(arena, table, b);
        uint64_t now = cs_htable_now_ms();
        for (uint64_t o = b->first; o != 0;) {
            const cs_htable_item *it = item_at(arena, o);
            if (!is_expired(it, now)) {
                visitor(context, it, key_of(it), it->type == CS_VALUE_STRING ? key_of(it) + it->key_len : NULL);
                visited++;
            }
            o = it->next;
        }
        release_bucket(b);
    }
    return visited;
}
