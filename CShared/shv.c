// Shared variables: named slots with a null, integer or string value.
#include "cs_shv.h"

#include <errno.h>
#include <string.h>

#include "cs_alloc.h"

uint64_t cs_shv_table_bytes(uint32_t capacity) {
    return sizeof(cs_shv_table) + (uint64_t)capacity * sizeof(cs_shv_entry);
}

int cs_shv_table_init(cs_shv_table *table, uint32_t capacity) {
    memset(table, 0, cs_shv_table_bytes(capacity));
    table->capacity = capacity;
    return cs_lock_init(&table->lock);
}

int32_t cs_shv_find(const cs_shv_table *table, const char *name, size_t name_len) {
    if (name_len == 0 || name_len >= CS_SHV_NAME_MAX) return -1;
    uint32_t count = __atomic_load_n(&table->count, __ATOMIC_ACQUIRE);
    if (count > table->capacity) count = table->capacity;
    for (uint32_t i = 0; i < count; i++) {
        const char *n = table->entries[i].name;
        if (memcmp(n, name, name_len) == 0 && n[name_len] == 0) return (int32_t)i;
    }
    return -1;
}

int cs_shv_add(cs_shv_table *table, const char *name, size_t name_len, uint32_t *index) {
    if (name_len == 0 || name_len >= CS_SHV_NAME_MAX || memchr(name, 0, name_len)) return EINVAL;
    int32_t found = cs_shv_find(table, name, name_len);
    if (found >= 0) {
        *index = (uint32_t)found;
        return 0;
    }
    if (table->count >= table->capacity) return ENOSPC;
    cs_shv_entry *e = &table->entries[table->count];
    memset(e, 0, sizeof(*e));
    memcpy(e->name, name, name_len);
    *index = table->count;
    __atomic_store_n(&table->count, table->count + 1, __ATOMIC_RELEASE);
    return 0;
}

/// Whether [offset, offset + len) lies in the allocator's heap.
static int in_heap(const cs_arena_header *arena, uint64_t offset, uint64_t len) {
    const cs_allocator *c = (const cs_allocator *)((const char *)arena + arena->allocator_offset);
    return offset >= c->heap_start && offset <= c->heap_end && len <= c->heap_end - offset;
}

/// After a holder died: any entry that does not make sense becomes null (its string,
/// if it had one, is not freed: the offset cannot be trusted).
static void repair(cs_arena_header *arena, cs_shv_table *table) {
    uint32_t count = table->count < table->capacity ? table->count : table->capacity;
    for (uint32_t i = 0; i < count; i++) {
        cs_shv_entry *e = &table->entries[i];
        int bad = e->type > CS_VALUE_STRING ||
                  (e->type == CS_VALUE_STRING && e->str_len != 0 && !in_heap(arena, e->str_offset, e->str_len));
        if (bad) {
            e->type = CS_VALUE_NULL;
            e->str_offset = 0;
            e->str_len = 0;
        }
    }
}

static void lock_table(cs_arena_header *arena, cs_shv_table *table) {
    if (cs_lock_acquire(&table->lock) == CS_LOCK_RECOVERED) repair(arena, table);
}

/// The string block an entry owns, detached from it (caller holds the lock). The entry
/// is null afterwards; the caller frees the block once the lock is released.
static void *detach_string(cs_arena_header *arena, cs_shv_entry *e) {
    void *old = NULL;
    if (e->type == CS_VALUE_STRING && e->str_offset != 0) old = (char *)arena + e->str_offset;
    __atomic_store_n(&e->type, CS_VALUE_NULL, __ATOMIC_RELEASE);
    e->str_offset = 0;
    e->str_len = 0;
    return old;
}

int cs_shv_set_int(cs_arena_header *arena, cs_shv_table *table, uint32_t index, int64_t value) {
    if (index >= table->count) return EINVAL;
    cs_shv_entry *e = &table->entries[index];
    lock_table(arena, table);
    void *old = NULL;
    if (e->type == CS_VALUE_STRING) old = detach_string(arena, e);
    e->int_value = value;
    __atomic_store_n(&e->type, CS_VALUE_INT, __ATOMIC_RELEASE);
    cs_lock_release(&table->lock);
    cs_free(arena, old);
    return 0;
}

int cs_shv_set_string(cs_arena_header *arena, cs_shv_table *table, uint32_t index,
                      const char *bytes, size_t len) {
    if (index >= table->count || len > UINT32_MAX) return EINVAL;
    char *copy = NULL;
    if (len > 0) {
        copy = cs_alloc(arena, len);
        if (!copy) return ENOMEM;
        memcpy(copy, bytes, len);
    }
    cs_shv_entry *e = &table->entries[index];
    lock_table(arena, table);
    void *old = detach_string(arena, e);
    e->int_value = 0;
    e->str_offset = copy ? (uint64_t)(copy - (char *)arena) : 0;
    e->str_len = (uint32_t)len;
    __atomic_store_n(&e->type, CS_VALUE_STRING, __ATOMIC_RELEASE);
    cs_lock_release(&table->lock);
    cs_free(arena, old);
    return 0;
}

int cs_shv_set_null(cs_arena_header *arena, cs_shv_table *table, uint32_t index) {
    if (index >= table->count) return EINVAL;
    cs_shv_entry *e = &table->entries[index];
    lock_table(arena, table);
    void *old = detach_string(arena, e);
    e->int_value = 0;
    cs_lock_release(&table->lock);
    cs_free(arena, old);
    return 0;
}

int cs_shv_get(cs_arena_header *arena, cs_shv_table *table, uint32_t index, cs_value *out,
               char *buffer, size_t capacity) {
    memset(out, 0, sizeof(*out));
    if (index >= table->count) return EINVAL;
    const cs_shv_entry *e = &table->entries[index];
    int rc = 0;
    lock_table(arena, table);
    out->type = e->type;
    out->int_value = e->int_value;
    if (e->type == CS_VALUE_STRING) {
        out->str_len = e->str_len;
        if (e->str_len > capacity) {
            rc = ERANGE;
        } else if (e->str_len > 0) {
            memcpy(buffer, (const char *)arena + e->str_offset, e->str_len);
        }
    }
    cs_lock_release(&table->lock);
    return rc;
}
