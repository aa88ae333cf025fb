// cfg.c - the changeable settings table (cs_cfg.h).
#include "cs_cfg.h"

#include <string.h>

uint64_t cs_cfg_table_bytes(uint32_t capacity) {
    return sizeof(cs_cfg_table) + (uint64_t)capacity * sizeof(cs_cfg_entry);
}

void cs_cfg_table_init(cs_cfg_table *table, uint32_t capacity) {
    memset(table, 0, cs_cfg_table_bytes(capacity));
    table->capacity = capacity;
}

static int copy_name(char *dst, size_t size, const char *src) {
    size_t n = strlen(src);
    if (n >= size) return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

int32_t cs_cfg_add(cs_cfg_table *table, const char *group, const char *name, const char *description,
                   int64_t value, int64_t minimum, int64_t maximum) {
    if (table->count >= table->capacity) return -1;
    cs_cfg_entry *e = &table->entries[table->count];
    if (copy_name(e->group, sizeof e->group, group) != 0 || copy_name(e->name, sizeof e->name, name) != 0) return -1;
    strncpy(e->description, description, sizeof e->description - 1);
    e->value = value;
    e->minimum = minimum;
    e->maximum = maximum;
    return (int32_t)table->count++;
}

int32_t cs_cfg_find(const cs_cfg_table *table, const char *group, const char *name) {
    for (uint32_t i = 0; i < table->count; i++) {
        if (strcmp(table->entries[i].group, group) == 0 && strcmp(table->entries[i].name, name) == 0) return (int32_t)i;
    }
    return -1;
}

int64_t cs_cfg_get(const cs_cfg_table *table, int32_t index) {
    return __atomic_load_n(&table->entries[index].value, __ATOMIC_RELAXED);
}

int cs_cfg_set(cs_cfg_table *table, int32_t index, int64_t value) {
    cs_cfg_entry *e = &table->entries[index];
    if (value < e->minimum || value > e->maximum) return -1;
    __atomic_store_n(&e->value, value, __ATOMIC_RELAXED);
    __atomic_fetch_add(&e->changes, 1, __ATOMIC_RELAXED);
    return 0;
}
