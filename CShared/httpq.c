// http_async_client's table of pending queries (cs_httpq.h).
#include <string.h>

#include "cs_httpq.h"

uint64_t cs_httpq_table_bytes(uint32_t capacity) {
    return sizeof(cs_httpq_table) + (uint64_t)capacity * sizeof(cs_httpq_entry);
}

void cs_httpq_init(cs_httpq_table *table, uint32_t capacity) {
    memset(table, 0, cs_httpq_table_bytes(capacity));
    cs_lock_init(&table->lock);
    table->capacity = capacity;
    table->next_id = 1;
    table->free_head = capacity ? 0 : CS_HTTPQ_NONE;
    for (uint32_t i = 0; i < capacity; i++) {
        table->entries[i].next_free = i + 1 < capacity ? i + 1 : CS_HTTPQ_NONE;
        table->entries[i].worker_slot = -1;
    }
}

cs_httpq_entry *cs_httpq_entry_at(cs_httpq_table *table, uint32_t index) {
    return index < table->capacity ? &table->entries[index] : NULL;
}

// After a holder died inside the lock: the free list and `used` are rebuilt from the
// entries' states (release links an entry before it marks it free, so a FREE entry off the
// list is the only inconsistency a death can leave).
static void rebuild(cs_httpq_table *table) {
    uint32_t used = 0;
    table->free_head = CS_HTTPQ_NONE;
    for (uint32_t i = table->capacity; i-- > 0;) {
        cs_httpq_entry *e = &table->entries[i];
        if (e->state == CS_HTTPQ_FREE) {
            e->next_free = table->free_head;
            table->free_head = i;
        } else {
            used++;
        }
    }
    table->used = used;
}

static void lock_table(cs_httpq_table *table) {
    if (cs_lock_acquire(&table->lock) == CS_LOCK_RECOVERED) rebuild(table);
}

uint32_t cs_httpq_claim(cs_httpq_table *table, uint64_t now_ms, int32_t owner_slot) {
    lock_table(table);
    uint32_t index = table->free_head;
    if (index == CS_HTTPQ_NONE) {
        cs_lock_release(&table->lock);
        return CS_HTTPQ_NONE;
    }
    cs_httpq_entry *e = &table->entries[index];
    table->free_head = e->next_free;
    table->used++;
    if (table->used > table->high_water) table->high_water = table->used;
    uint64_t id = table->next_id++;
    e->next_free = CS_HTTPQ_NONE;
    e->worker_slot = owner_slot;
    __atomic_store_n(&e->state, CS_HTTPQ_QUEUED, __ATOMIC_RELEASE);
    cs_lock_release(&table->lock);
    e->tx_index = e->tx_label = 0;
    e->timeout_ms = 0;
    e->queued_ms = now_ms;
    e->started_ms = 0;
    e->url_len = 0;
    e->method[0] = 0;
    e->url[0] = 0;
    __atomic_store_n(&e->id, id, __ATOMIC_RELEASE);
    return index;
}

void cs_httpq_release(cs_httpq_table *table, uint32_t index) {
    if (index >= table->capacity) return;
    cs_httpq_entry *e = &table->entries[index];
    lock_table(table);
    if (e->state != CS_HTTPQ_FREE) {
        e->id = 0;
        e->worker_slot = -1;
        e->next_free = table->free_head;
        table->free_head = index;
        table->used--;
        __atomic_store_n(&e->state, CS_HTTPQ_FREE, __ATOMIC_RELEASE);
    }
    cs_lock_release(&table->lock);
}

uint32_t cs_httpq_release_worker(cs_httpq_table *table, int32_t slot) {
    uint32_t released = 0;
    for (uint32_t i = 0; i < table->capacity; i++) {
        cs_httpq_entry *e = &table->entries[i];
        if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != CS_HTTPQ_FREE && e->worker_slot == slot) {
            cs_httpq_release(table, i);
            released++;
        }
    }
    __atomic_add_fetch(&table->settled, released, __ATOMIC_RELAXED);
    return released;
}
