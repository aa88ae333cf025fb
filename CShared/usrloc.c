// usrloc's location table: contacts chained by offsets in locked buckets (cs_usrloc.h).
#include "cs_usrloc.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_htable.h"

uint64_t cs_ul_table_bytes(uint32_t hash_size) {
    if (hash_size < 1 || hash_size > 20) return sizeof(cs_ul_table);
    return sizeof(cs_ul_table) + ((uint64_t)1 << hash_size) * sizeof(cs_ul_bucket);
}

int cs_ul_table_init(cs_arena_header *arena, cs_ul_table *t, uint32_t hash_size, uint64_t capacity,
                     uint32_t use_domain, uint32_t db_mode) {
    if (hash_size < 1 || hash_size > 20) return EINVAL;
    uint32_t n = 1u << hash_size;
    memset(t, 0, sizeof(*t));
    cs_ul_bucket *b = (cs_ul_bucket *)(t + 1);
    memset(b, 0, (size_t)n * sizeof(*b));
    for (uint32_t i = 0; i < n; i++) {
        int rc = cs_lock_init_recursive(&b[i].lock);
        if (rc != 0) return rc;
    }
    t->bucket_count = n;
    t->use_domain = use_domain;
    t->db_mode = db_mode;
    t->capacity = capacity;
    t->buckets_offset = (uint64_t)((char *)b - (char *)arena);
    return 0;
}

// ---- helpers (callers hold the bucket lock) ----

static inline cs_ul_bucket *bucket_of(cs_arena_header *arena, cs_ul_table *t, uint32_t hash) {
    cs_ul_bucket *array = (cs_ul_bucket *)((char *)arena + t->buckets_offset);
    return &array[hash & (t->bucket_count - 1)];
}

static inline cs_ul_contact *at(cs_arena_header *arena, uint64_t o) {
    return o ? (cs_ul_contact *)((char *)arena + o) : NULL;
}

static inline uint64_t offset_of(cs_arena_header *arena, const void *p) {
    return (uint64_t)((const char *)p - (const char *)arena);
}

static inline const char *bytes_of(const cs_ul_contact *c) { return (const char *)(c + 1); }

static size_t total_len(const cs_ul_contact *c) {
    size_t n = 0;
    for (int i = 0; i < CS_UL_FIELDS; i++) n += c->len[i];
    return n;
}

static const char *field(const cs_ul_contact *c, int index) {
    const char *p = bytes_of(c);
    for (int i = 0; i < index; i++) p += c->len[i];
    return p;
}

static int same_aor(const cs_ul_contact *c, uint32_t hash, const char *aor, size_t len) {
    return c->hash == hash && c->len[CS_UL_AOR] == len && memcmp(bytes_of(c), aor, len) == 0;
}

static int same_uri(const cs_ul_contact *c, const char *uri, size_t len) {
    return c->len[CS_UL_URI] == len && memcmp(field(c, CS_UL_URI), uri, len) == 0;
}

static void repair_bucket(cs_arena_header *arena, cs_ul_table *t, cs_ul_bucket *b) {
    const cs_allocator *a = (const cs_allocator *)((const char *)arena + arena->allocator_offset);
    uint64_t limit = (a->heap_end - a->heap_start) / sizeof(cs_ul_contact);
    uint64_t *link = &b->first;
    uint32_t count = 0;
    while (*link != 0) {
        uint64_t o = *link;
        const cs_ul_contact *c = at(arena, o);
        if ((o & 15) || o < a->heap_start || o > a->heap_end - sizeof(cs_ul_contact) || limit-- == 0 ||
            total_len(c) > a->heap_end - o - sizeof(cs_ul_contact)) {
            *link = 0;
            break;
        }
        count++;
        link = &at(arena, o)->next;
    }
    int64_t delta = (int64_t)count - (int64_t)b->count;
    b->count = count;
    __atomic_add_fetch(&t->contacts, (uint64_t)delta, __ATOMIC_RELAXED);
}

static int acquire(cs_arena_header *arena, cs_ul_table *t, cs_ul_bucket *b) {
    int rc = cs_lock_acquire(&b->lock);
    if (rc == CS_LOCK_RECOVERED) {
        b->depth = 0;
        repair_bucket(arena, t, b);
    }
    b->depth++;
    return rc;
}

static void release(cs_ul_bucket *b) {
    if (--b->depth == 0) cs_lock_release(&b->lock);
    else pthread_mutex_unlock(&b->lock.mutex);
}

int cs_ul_lock_aor(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t len) {
    return acquire(arena, t, bucket_of(arena, t, cs_htable_hash(aor, len)));
}

void cs_ul_unlock_aor(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t len) {
    release(bucket_of(arena, t, cs_htable_hash(aor, len)));
}

/// A new contact record copied from `fields` and `bytes`, or NULL (arena full).
static cs_ul_contact *make(cs_arena_header *arena, const cs_ul_contact *fields, const char *bytes, uint32_t hash) {
    size_t n = total_len(fields);
    cs_ul_contact *c = cs_alloc(arena, sizeof(cs_ul_contact) + n);
    if (!c) return NULL;
    *c = *fields;
    c->next = 0;
    c->hash = hash;
    c->len[CS_UL_FIELDS - 1] = 0;
    memcpy(c + 1, bytes, n);
    return c;
}

/// Links `c` among its AOR's contacts: before the first with a lower q, else after the
/// AOR's last contact, else at the bucket's head.
static void link_sorted(cs_arena_header *arena, cs_ul_bucket *b, cs_ul_contact *c) {
    const char *aor = bytes_of(c);
    size_t len = c->len[CS_UL_AOR];
    uint64_t *link = &b->first, *after_last = NULL;
    for (cs_ul_contact *p = at(arena, *link); p; link = &p->next, p = at(arena, *link)) {
        if (!same_aor(p, c->hash, aor, len)) continue;
        if (p->q < c->q) break;
        after_last = &p->next;
    }
    if (*link == 0 || !same_aor(at(arena, *link), c->hash, aor, len)) {
        link = after_last ? after_last : &b->first;
    }
    c->next = *link;
    __atomic_store_n(link, offset_of(arena, c), __ATOMIC_RELEASE);
    b->count++;
}

int cs_ul_insert(cs_arena_header *arena, cs_ul_table *t, const cs_ul_contact *fields, const char *bytes) {
    if (fields->len[CS_UL_AOR] == 0) return EINVAL;
    uint64_t n = __atomic_add_fetch(&t->contacts, 1, __ATOMIC_ACQ_REL);
    if (n > t->capacity) {
        __atomic_sub_fetch(&t->contacts, 1, __ATOMIC_ACQ_REL);
        __atomic_add_fetch(&t->rejected_full, 1, __ATOMIC_RELAXED);
        return ENOSPC;
    }
    uint32_t hash = cs_htable_hash(bytes, fields->len[CS_UL_AOR]);
    cs_ul_bucket *b = bucket_of(arena, t, hash);
    acquire(arena, t, b);
    cs_ul_contact *c = make(arena, fields, bytes, hash);
    if (c) link_sorted(arena, b, c);
    release(b);
    if (!c) {
        __atomic_sub_fetch(&t->contacts, 1, __ATOMIC_ACQ_REL);
        __atomic_add_fetch(&t->rejected_full, 1, __ATOMIC_RELAXED);
        return ENOMEM;
    }
    return 0;
}

/// The link that points at the contact (AOR, URI), or NULL.
static uint64_t *find_link(cs_arena_header *arena, cs_ul_bucket *b, uint32_t hash, const char *aor, size_t aor_len,
                           const char *uri, size_t uri_len) {
    uint64_t *link = &b->first;
    for (cs_ul_contact *p = at(arena, *link); p; link = &p->next, p = at(arena, *link)) {
        if (same_aor(p, hash, aor, aor_len) && same_uri(p, uri, uri_len)) return link;
    }
    return NULL;
}

/// The previous and next contacts of the same AOR around the one at `*link`.
static void neighbours(cs_arena_header *arena, cs_ul_bucket *b, const cs_ul_contact *c, cs_ul_contact **prev,
                       cs_ul_contact **next) {
    *prev = *next = NULL;
    const char *aor = bytes_of(c);
    size_t len = c->len[CS_UL_AOR];
    int seen = 0;
    for (cs_ul_contact *p = at(arena, b->first); p; p = at(arena, p->next)) {
        if (p == c) {
            seen = 1;
            continue;
        }
        if (!same_aor(p, c->hash, aor, len)) continue;
        if (!seen) *prev = p;
        else if (!*next) *next = p;
    }
}

/// Kamailio's repositioning when an update changes q: the contact stays where it is while
/// its neighbours' q still bracket it; otherwise it goes before the AOR's first contact
/// whose q is not below its own (after the AOR's last contact when there is none).
static void relink_changed_q(cs_arena_header *arena, cs_ul_bucket *b, cs_ul_contact *c) {
    cs_ul_contact *prev, *next;
    neighbours(arena, b, c, &prev, &next);
    if ((!prev || c->q <= prev->q) && (!next || c->q >= next->q)) return;
    uint64_t *link = &b->first;
    while (at(arena, *link) != c) link = &at(arena, *link)->next;
    __atomic_store_n(link, c->next, __ATOMIC_RELEASE);
    const char *aor = bytes_of(c);
    size_t len = c->len[CS_UL_AOR];
    uint64_t *after_last = NULL;
    link = &b->first;
    for (cs_ul_contact *p = at(arena, *link); p; link = &p->next, p = at(arena, *link)) {
        if (!same_aor(p, c->hash, aor, len)) continue;
        if (p->q >= c->q) break;
        after_last = &p->next;
    }
    if (*link == 0 || !same_aor(at(arena, *link), c->hash, aor, len)) link = after_last ? after_last : &b->first;
    c->next = *link;
    __atomic_store_n(link, offset_of(arena, c), __ATOMIC_RELEASE);
}

int cs_ul_replace(cs_arena_header *arena, cs_ul_table *t, const cs_ul_contact *fields, const char *bytes) {
    size_t aor_len = fields->len[CS_UL_AOR];
    uint32_t hash = cs_htable_hash(bytes, aor_len);
    cs_ul_bucket *b = bucket_of(arena, t, hash);
    acquire(arena, t, b);
    int rc = 0;
    uint64_t *link = find_link(arena, b, hash, bytes, aor_len, bytes + aor_len, fields->len[CS_UL_URI]);
    cs_ul_contact *old = link ? at(arena, *link) : NULL;
    cs_ul_contact *c = old ? make(arena, fields, bytes, hash) : NULL;
    if (!old) {
        rc = ENOENT;
    } else if (!c) {
        rc = ENOMEM;
    } else {
        int moved = old->q != c->q;
        c->next = old->next;
        __atomic_store_n(link, offset_of(arena, c), __ATOMIC_RELEASE);
        cs_free(arena, old);
        if (moved) relink_changed_q(arena, b, c);
    }
    release(b);
    return rc;
}

int cs_ul_remove(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t aor_len, const char *uri,
                 size_t uri_len) {
    uint32_t hash = cs_htable_hash(aor, aor_len);
    cs_ul_bucket *b = bucket_of(arena, t, hash);
    acquire(arena, t, b);
    uint64_t *link = find_link(arena, b, hash, aor, aor_len, uri, uri_len);
    if (link) {
        cs_ul_contact *old = at(arena, *link);
        __atomic_store_n(link, old->next, __ATOMIC_RELEASE);
        b->count--;
        cs_free(arena, old);
        __atomic_sub_fetch(&t->contacts, 1, __ATOMIC_ACQ_REL);
    }
    release(b);
    return link ? 0 : ENOENT;
}

/// Unlinks and frees every contact of the bucket that matches; returns how many.
static uint32_t remove_where(cs_arena_header *arena, cs_ul_table *t, cs_ul_bucket *b, uint32_t hash, const char *aor,
                             size_t len, int64_t expired_by) {
    uint32_t removed = 0;
    uint64_t *link = &b->first;
    cs_ul_contact *p;
    while ((p = at(arena, *link)) != NULL) {
        int match = aor ? same_aor(p, hash, aor, len) : (p->expires != 0 && p->expires <= expired_by);
        if (!match) {
            link = &p->next;
            continue;
        }
        __atomic_store_n(link, p->next, __ATOMIC_RELEASE);
        b->count--;
        cs_free(arena, p);
        removed++;
    }
    if (removed) __atomic_sub_fetch(&t->contacts, removed, __ATOMIC_ACQ_REL);
    return removed;
}

uint32_t cs_ul_remove_aor(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t len) {
    uint32_t hash = cs_htable_hash(aor, len);
    cs_ul_bucket *b = bucket_of(arena, t, hash);
    acquire(arena, t, b);
    uint32_t n = remove_where(arena, t, b, hash, aor, len, 0);
    release(b);
    return n;
}

uint64_t cs_ul_purge_expired(cs_arena_header *arena, cs_ul_table *t, int64_t now, uint32_t first, uint32_t step) {
    uint64_t total = 0;
    cs_ul_bucket *array = (cs_ul_bucket *)((char *)arena + t->buckets_offset);
    if (step == 0) step = 1;
    for (uint32_t i = first; i < t->bucket_count; i += step) {
        if (__atomic_load_n(&array[i].first, __ATOMIC_ACQUIRE) == 0) continue;
        acquire(arena, t, &array[i]);
        total += remove_where(arena, t, &array[i], 0, NULL, 0, now);
        release(&array[i]);
    }
    if (total) __atomic_add_fetch(&t->expired, total, __ATOMIC_RELAXED);
    return total;
}

uint32_t cs_ul_visit_aor(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t len,
                         cs_ul_visitor visitor, void *context) {
    uint32_t hash = cs_htable_hash(aor, len);
    cs_ul_bucket *b = bucket_of(arena, t, hash);
    uint32_t n = 0;
    acquire(arena, t, b);
    for (cs_ul_contact *p = at(arena, b->first); p; p = at(arena, p->next)) {
        if (!same_aor(p, hash, aor, len)) continue;
        visitor(context, p, bytes_of(p));
        n++;
    }
    release(b);
    return n;
}

uint64_t cs_ul_visit(cs_arena_header *arena, cs_ul_table *t, cs_ul_visitor visitor, void *context) {
    uint64_t n = 0;
    cs_ul_bucket *array = (cs_ul_bucket *)((char *)arena + t->buckets_offset);
    for (uint32_t i = 0; i < t->bucket_count; i++) {
        if (__atomic_load_n(&array[i].first, __ATOMIC_ACQUIRE) == 0) continue;
        acquire(arena, t, &array[i]);
        for (cs_ul_contact *p = at(arena, array[i].first); p; p = at(arena, p->next)) {
            visitor(context, p, bytes_of(p));
            n++;
        }
        release(&array[i]);
    }
    return n;
}

uint64_t cs_ul_take_dirty(cs_arena_header *arena, cs_ul_table *t, void (*visitor)(void *, const cs_ul_contact *,
                          const char *), void *context) {
    uint64_t n = 0;
    cs_ul_bucket *array = (cs_ul_bucket *)((char *)arena + t->buckets_offset);
    for (uint32_t i = 0; i < t->bucket_count; i++) {
        if (__atomic_load_n(&array[i].first, __ATOMIC_ACQUIRE) == 0) continue;
        acquire(arena, t, &array[i]);
        for (cs_ul_contact *p = at(arena, array[i].first); p; p = at(arena, p->next)) {
            if (p->state != CS_UL_DIRTY) continue;
            p->state = CS_UL_CLEAN;
            visitor(context, p, bytes_of(p));
            n++;
        }
        release(&array[i]);
    }
    return n;
}

int cs_ul_mark_dirty(cs_arena_header *arena, cs_ul_table *t, const char *aor, size_t aor_len, const char *uri,
                     size_t uri_len) {
    uint32_t hash = cs_htable_hash(aor, aor_len);
    cs_ul_bucket *b = bucket_of(arena, t, hash);
    acquire(arena, t, b);
    uint64_t *link = find_link(arena, b, hash, aor, aor_len, uri, uri_len);
    if (link) at(arena, *link)->state = CS_UL_DIRTY;
    release(b);
    return link ? 0 : ENOENT;
}

void cs_ul_count_db(cs_ul_table *t, uint64_t written, uint32_t failed) {
    if (written) __atomic_add_fetch(&t->db_written, written, __ATOMIC_RELAXED);
    if (failed) __atomic_add_fetch(&t->db_failed, failed, __ATOMIC_RELAXED);
}
