// The TCP connection table (cs_tcp.h).
#include <string.h>

#include "cs_tcp.h"

uint64_t cs_tcp_table_bytes(uint32_t capacity) {
    return sizeof(cs_tcp_table) + (uint64_t)capacity * sizeof(cs_tcp_conn);
}

void cs_tcp_table_init(cs_tcp_table *table, uint32_t capacity) {
    memset(table, 0, cs_tcp_table_bytes(capacity));
    table->capacity = capacity;
    table->free_head = capacity ? 0 : CS_TCP_NONE;
    table->free_tail = capacity ? capacity - 1 : CS_TCP_NONE;
    for (uint32_t i = 0; i < capacity; i++) {
        table->conns[i].next_free = i + 1 < capacity ? i + 1 : CS_TCP_NONE;
        table->conns[i].fd = -1;
    }
}

cs_tcp_conn *cs_tcp_at(cs_tcp_table *table, uint32_t index) {
    return index < table->capacity ? &table->conns[index] : NULL;
}

cs_tcp_conn *cs_tcp_claim(cs_tcp_table *table) {
    uint32_t index = table->free_head;
    if (index == CS_TCP_NONE) return NULL;
    cs_tcp_conn *c = &table->conns[index];
    table->free_head = c->next_free;
    if (table->free_head == CS_TCP_NONE) table->free_tail = CS_TCP_NONE;
    c->next_free = CS_TCP_NONE;
    uint32_t id = (c->generation << CS_TCP_INDEX_BITS) | (index + 1);
    c->state = CS_TCP_FREE;
    c->flags = 0;
    c->fd = -1;
    memset(&c->peer, 0, sizeof c->peer);
    memset(c->alias_ports, 0, sizeof c->alias_ports);
    c->alias_count = 0;
    c->owner_pid = 0;
    c->pending_out = 0;
    c->created_ms = c->last_activity_ms = 0;
    c->bytes_in = c->bytes_out = c->msgs_in = c->msgs_out = 0;
    c->peer.conid = id;
    __atomic_store_n(&c->id, id, __ATOMIC_RELEASE);
    table->used++;
    if (table->used > table->high_water) table->high_water = table->used;
    return c;
}

void cs_tcp_publish(cs_tcp_conn *conn, uint32_t state) {
    __atomic_store_n(&conn->state, state, __ATOMIC_RELEASE);
}

void cs_tcp_release(cs_tcp_table *table, cs_tcp_conn *conn) {
    uint32_t index = (uint32_t)(conn - table->conns);
    if (index >= table->capacity || conn->id == 0) return;
    __atomic_store_n(&conn->id, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&conn->state, CS_TCP_FREE, __ATOMIC_RELEASE);
    conn->generation = (conn->generation + 1) & CS_TCP_GENERATION_MASK;
    conn->fd = -1;
    conn->next_free = CS_TCP_NONE;
    if (table->free_tail == CS_TCP_NONE) {
        table->free_head = index;
    } else {
        table->conns[table->free_tail].next_free = index;
    }
    table->free_tail = index;
    table->used--;
}

uint32_t cs_tcp_release_all(cs_tcp_table *table) {
    uint32_t released = 0;
    for (uint32_t i = 0; i < table->capacity; i++) {
        if (table->conns[i].id != 0) {
            cs_tcp_release(table, &table->conns[i]);
            released++;
        }
    }
    return released;
}

cs_tcp_conn *cs_tcp_find(cs_tcp_table *table, uint32_t id) {
    uint32_t index = (id & CS_TCP_MAX_CAPACITY) - 1;
    if (id == 0 || index >= table->capacity) return NULL;
    cs_tcp_conn *c = &table->conns[index];
    if (__atomic_load_n(&c->id, __ATOMIC_ACQUIRE) != id) return NULL;
    if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) == CS_TCP_FREE) return NULL;
    return c;
}

void cs_tcp_count_send_failed(cs_tcp_table *table) {
    __atomic_fetch_add(&table->send_failed, 1, __ATOMIC_RELAXED);
}

void cs_tcp_count_queue_full(cs_tcp_table *table) {
    __atomic_fetch_add(&table->queue_full, 1, __ATOMIC_RELAXED);
}
