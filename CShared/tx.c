// tm's transaction table: buckets with robust locks, transactions chained by offsets,
// named by (index, label), kept alive by a reference count.
#include "cs_tx.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cs_alloc.h"

_Static_assert(offsetof(cs_tx_bucket, first) == sizeof(cs_lock), "bucket layout is read by respite-shm");
_Static_assert(offsetof(cs_tx_table, buckets) == 64, "table layout is read by respite-shm");
_Static_assert(offsetof(cs_tx, lock) % 8 == 0, "the reply lock is aligned");
_Static_assert(sizeof(cs_tx_branch) % 8 == 0, "branches keep their links aligned");
_Static_assert(sizeof(cs_tx) % 8 == 0, "key and request bytes follow an aligned header");
_Static_assert(offsetof(cs_tx, data) == sizeof(cs_tx), "key bytes follow the header");

uint64_t cs_tx_table_bytes(uint32_t bucket_count) {
    return sizeof(cs_tx_table) + (uint64_t)bucket_count * sizeof(cs_tx_bucket);
}

int cs_tx_table_init(cs_tx_table *table, uint32_t bucket_count) {
    if (bucket_count == 0 || (bucket_count & (bucket_count - 1)) != 0) return EINVAL;
    memset(table, 0, cs_tx_table_bytes(bucket_count));
    table->bucket_count = bucket_count;
    for (uint32_t i = 0; i < bucket_count; i++) {
        int rc = cs_lock_init(&table->buckets[i].lock);
        if (rc != 0) return rc;
        table->buckets[i].next_label = 1;
    }
    return 0;
}

const uint8_t *cs_tx_key(const cs_tx *tx) { return tx->data; }
const uint8_t *cs_tx_request(const cs_tx *tx) { return tx->data + tx->key_len; }

// ---- chains (caller holds the bucket lock) ----

static inline cs_tx *tx_at(cs_arena_header *arena, uint64_t offset) {
    return offset ? (cs_tx *)((char *)arena + offset) : NULL;
}

static inline uint64_t offset_of(cs_arena_header *arena, const void *p) {
    return (uint64_t)((const char *)p - (const char *)arena);
}

/// After a holder died: walk the chain, cut it at the first transaction that leaves the
/// heap, is misaligned, belongs to another bucket or closes a cycle (the walk is bounded
/// by what the heap can hold), rebuild the back links and recount. A transaction being
/// linked or unlinked when its creator died may leak; the chain itself stays walkable
/// because every forward link changes with one 8-byte store.
static void repair_bucket(cs_arena_header *arena, cs_tx_bucket *b, uint32_t index) {
    const cs_allocator *c = (const cs_allocator *)((const char *)arena + arena->allocator_offset);
    uint64_t budget = (c->heap_end - c->heap_start) / sizeof(cs_tx) + 1;
    uint64_t *from = &b->first;
    uint64_t prev = 0;
    uint32_t count = 0;
    while (*from != 0) {
        uint64_t o = *from;
        int bad = (o & 15) || o < c->heap_start || o > c->heap_end || c->heap_end - o < sizeof(cs_tx) ||
                  budget-- == 0;
        if (!bad) {
            const cs_tx *tx = tx_at(arena, o);
            bad = tx->index != index ||
                  (uint64_t)tx->key_len + tx->request_len > c->heap_end - o - sizeof(cs_tx);
        }
        if (bad) {
            *from = 0;
            break;
        }
        cs_tx *tx = tx_at(arena, o);
        tx->prev = prev;
        prev = o;
        count++;
        from = &tx->next;
    }
    b->count = count;
}

static cs_tx_bucket *lock_bucket(cs_arena_header *arena, cs_tx_table *table, uint32_t index) {
    cs_tx_bucket *b = &table->buckets[index];
    if (cs_lock_acquire(&b->lock) == CS_LOCK_RECOVERED) repair_bucket(arena, b, index);
    return b;
}

/// The linked transaction with this key, or NULL.
static cs_tx *find_key(cs_arena_header *arena, cs_tx_bucket *b, uint64_t hash, const uint8_t *key,
                       uint32_t key_len) {
    for (cs_tx *tx = tx_at(arena, b->first); tx; tx = tx_at(arena, tx->next)) {
        if (tx->key_hash == hash && tx->key_len == key_len && (key_len == 0 || memcmp(tx->data, key, key_len) == 0)) return tx;
    }
    return NULL;
}

/// Publishes a complete transaction at the head of its bucket.
static void push_tx(cs_arena_header *arena, cs_tx_bucket *b, cs_tx *tx) {
    uint64_t off = offset_of(arena, tx);
    cs_tx *head = tx_at(arena, b->first);
    tx->next = b->first;
    tx->prev = 0;
    if (head) head->prev = off;
    __atomic_store_n(&b->first, off, __ATOMIC_RELEASE);
    b->count++;
}

/// Removes a linked transaction from its bucket's chain.
static void remove_tx(cs_arena_header *arena, cs_tx_bucket *b, cs_tx *tx) {
    uint64_t *from = tx->prev ? &tx_at(arena, tx->prev)->next : &b->first;
    __atomic_store_n(from, tx->next, __ATOMIC_RELEASE);
    if (tx->next) tx_at(arena, tx->next)->prev = tx->prev;
    tx->next = 0;
    tx->prev = 0;
    b->count--;
}

/// The next label of a bucket: a generation number that skips 0 when it wraps.
static uint32_t take_label(cs_tx_bucket *b) {
    uint32_t label = b->next_label;
    if (label == 0) label = 1;
    b->next_label = label + 1 == 0 ? 1 : label + 1;
    return label;
}

/// A new, unlinked transaction with one reference for the table and one for the caller.
static cs_tx *new_tx(cs_arena_header *arena, uint32_t index, uint64_t hash, const uint8_t *key, uint32_t key_len,
                     const uint8_t *request, uint32_t request_len, uint32_t callid_off, uint32_t callid_len,
                     uint32_t method_len) {
    cs_tx *tx = cs_alloc(arena, sizeof(cs_tx) + (size_t)key_len + request_len);
    if (!tx) return NULL;
    memset(tx, 0, sizeof(*tx));
    if (cs_lock_init_recursive(&tx->lock) != 0) {
        cs_free(arena, tx);
        return NULL;
    }
    tx->index = index;
    tx->refcount = 2;
    tx->key_hash = hash;
    tx->key_len = key_len;
    tx->request_len = request_len;
    // Positions that do not fit the request are dropped rather than kept wrong.
    int callid_ok = callid_off <= request_len && callid_len <= request_len - callid_off;
    tx->callid_off = callid_ok ? callid_off : 0;
    tx->callid_len = callid_ok ? callid_len : 0;
    tx->method_len = method_len <= request_len ? method_len : 0;
    tx->created_ms = cs_now_ms();
    tx->on_failure = -1;
    tx->on_reply = -1;
    tx->on_branch = -1;
    tx->on_branch_failure = -1;
    if (key_len) memcpy(tx->data, key, key_len);
    if (request_len) memcpy(tx->data + key_len, request, request_len);
    return tx;
}

// ---- operations ----

cs_tx *cs_tx_find_or_create(cs_arena_header *arena, cs_tx_table *table, uint64_t hash, const uint8_t *key,
                            uint32_t key_len, const uint8_t *request, uint32_t request_len, uint32_t callid_off,
                            uint32_t callid_len, uint32_t method_len, int *created) {
    int made = 0;
    cs_tx *tx = cs_tx_find_or_create_locked(arena, table, hash, key, key_len, request, request_len, callid_off,
                                            callid_len, method_len, &made);
    if (made) cs_tx_unlock(tx);
    if (created) *created = made;
    return tx;
}

cs_tx *cs_tx_find_or_create_locked(cs_arena_header *arena, cs_tx_table *table, uint64_t hash, const uint8_t *key,
                                   uint32_t key_len, const uint8_t *request, uint32_t request_len,
                                   uint32_t callid_off, uint32_t callid_len, uint32_t method_len, int *created) {
    uint32_t index = (uint32_t)(hash & (table->bucket_count - 1));
    if (created) *created = 0;
    cs_tx_bucket *b = lock_bucket(arena, table, index);
    cs_tx *tx = find_key(arena, b, hash, key, key_len);
    if (tx) {
        cs_tx_ref(tx);
    } else {
        // Allocated under the bucket lock (order: bucket, then allocator) so that a request
        // and its retransmission arriving together never create two transactions.
        tx = new_tx(arena, index, hash, key, key_len, request, request_len, callid_off, callid_len, method_len);
        if (tx) {
            // Locked before anyone can find it: whoever looks it up (a CANCEL) waits until
            // the creator has filled in its source, timers and routes. Taking a tx lock
            // under a bucket lock is the reverse of the usual order, and safe only here:
            // nobody else can hold or wait for the lock of a transaction not yet linked.
            (void)cs_tx_lock(tx);
            tx->label = take_label(b);
            push_tx(arena, b, tx);
            __atomic_add_fetch(&table->created, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&table->live, 1, __ATOMIC_RELAXED);
            if (created) *created = 1;
        } else {
            __atomic_add_fetch(&table->failed_creates, 1, __ATOMIC_RELAXED);
        }
    }
    cs_lock_release(&b->lock);
    return tx;
}

cs_tx *cs_tx_lookup(cs_arena_header *arena, cs_tx_table *table, uint64_t hash, const uint8_t *key,
                    uint32_t key_len) {
    cs_tx_bucket *b = lock_bucket(arena, table, (uint32_t)(hash & (table->bucket_count - 1)));
    cs_tx *tx = find_key(arena, b, hash, key, key_len);
    if (tx) cs_tx_ref(tx);
    cs_lock_release(&b->lock);
    return tx;
}

cs_tx *cs_tx_lookup_id(cs_arena_header *arena, cs_tx_table *table, uint32_t index, uint32_t label) {
    cs_tx *found = NULL;
    if (index < table->bucket_count && label != 0) {
        cs_tx_bucket *b = lock_bucket(arena, table, index);
        for (cs_tx *tx = tx_at(arena, b->first); tx; tx = tx_at(arena, tx->next)) {
            if (tx->label == label) {
                cs_tx_ref(tx);
                found = tx;
                break;
            }
        }
        cs_lock_release(&b->lock);
    }
    if (!found) __atomic_add_fetch(&table->stale_lookups, 1, __ATOMIC_RELAXED);
    return found;
}

void cs_tx_ref(cs_tx *tx) { __atomic_add_fetch(&tx->refcount, 1, __ATOMIC_ACQ_REL); }

/// Frees every block of a transaction nobody references any more.
static void destroy_tx(cs_arena_header *arena, cs_tx_table *table, cs_tx *tx) {
    uint64_t offs[2 + 2 * CS_TX_MAX_BRANCHES];
    uint32_t n = 0;
    offs[n++] = tx->reply_off;
    offs[n++] = tx->state_off;
    for (uint32_t i = 0; i < CS_TX_MAX_BRANCHES; i++) {
        offs[n++] = tx->branches[i].request_off;
        offs[n++] = tx->branches[i].reply_off;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (offs[i]) cs_free(arena, (char *)arena + offs[i]);
    }
    pthread_mutex_destroy(&tx->lock.mutex);
    cs_free(arena, tx);
    __atomic_add_fetch(&table->destroyed, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&table->live, 1, __ATOMIC_RELAXED);
}

void cs_tx_unref(cs_arena_header *arena, cs_tx_table *table, cs_tx *tx) {
    if (__atomic_sub_fetch(&tx->refcount, 1, __ATOMIC_ACQ_REL) == 0) destroy_tx(arena, table, tx);
}

void cs_tx_unlink(cs_arena_header *arena, cs_tx_table *table, cs_tx *tx) {
    // Flags change under the tx lock; the bucket lock comes second (lock order). A caller
    // that already holds the tx lock keeps it shown as held (see release below).
    int nested = __atomic_load_n(&tx->lock.holder_pid, __ATOMIC_RELAXED) == (int32_t)getpid();
    cs_lock_acquire(&tx->lock);
    int was_linked = 0;
    if ((tx->flags & CS_TX_UNLINKED) == 0) {
        cs_tx_bucket *b = lock_bucket(arena, table, tx->index);
        remove_tx(arena, b, tx);
        cs_lock_release(&b->lock);
        tx->flags |= CS_TX_UNLINKED;
        was_linked = 1;
    }
    if (nested) pthread_mutex_unlock(&tx->lock.mutex);
    else cs_lock_release(&tx->lock);
    if (was_linked) cs_tx_unref(arena, table, tx);
}

int cs_tx_lock(cs_tx *tx) { return cs_lock_acquire(&tx->lock); }

void cs_tx_unlock(cs_tx *tx) { cs_lock_release(&tx->lock); }

void cs_tx_count_suspended(cs_tx_table *table, int delta) {
    __atomic_add_fetch(&table->suspended, (uint64_t)(int64_t)delta, __ATOMIC_RELAXED);
}
