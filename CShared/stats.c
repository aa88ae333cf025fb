// Named statistics (cs_stats.h).
#include <errno.h>
#include <string.h>

#include "cs_stats.h"

static uint32_t row_words(uint32_t count) { return (count + 7u) & ~7u; }

static uint64_t values_offset(uint32_t count) {
    uint64_t end = sizeof(cs_stats_table) + (uint64_t)count * sizeof(cs_stat_def);
    return (end + 63u) & ~(uint64_t)63u;
}

uint64_t cs_stats_bytes(uint32_t count, uint32_t process_capacity) {
    return values_offset(count) + (uint64_t)process_capacity * row_words(count) * sizeof(uint64_t);
}

void cs_stats_init(cs_stats_table *table, uint32_t count, uint32_t process_capacity) {
    memset(table, 0, cs_stats_bytes(count, process_capacity));
    table->count = count;
    table->process_capacity = process_capacity;
    table->row_words = row_words(count);
    table->values_offset = values_offset(count);
}

int cs_stats_define(cs_stats_table *table, uint32_t index, const char *group, const char *name, uint32_t kind) {
    if (index >= table->count || !group || !name || kind > CS_STAT_GAUGE) return EINVAL;
    size_t g = strlen(group), n = strlen(name);
    if (g == 0 || n == 0 || g >= CS_STAT_GROUP_MAX || n >= CS_STAT_NAME_MAX) return EINVAL;
    cs_stat_def *d = &table->defs[index];
    memset(d, 0, sizeof *d);
    memcpy(d->group, group, g);
    memcpy(d->name, name, n);
    d->kind = kind;
    return 0;
}

int32_t cs_stats_find(const cs_stats_table *table, const char *group, const char *name) {
    for (uint32_t i = 0; i < table->count; i++) {
        const cs_stat_def *d = &table->defs[i];
        if (strncmp(d->group, group, CS_STAT_GROUP_MAX) == 0 && strncmp(d->name, name, CS_STAT_NAME_MAX) == 0) {
            return (int32_t)i;
        }
    }
    return -1;
}

uint64_t *cs_stats_row(cs_stats_table *table, int32_t slot) {
    if (slot < 0 || (uint32_t)slot >= table->process_capacity) return NULL;
    return (uint64_t *)((char *)table + table->values_offset) + (uint64_t)slot * table->row_words;
}

void cs_stats_add(cs_stats_table *table, int32_t slot, uint32_t index, uint64_t delta) {
    uint64_t *row = cs_stats_row(table, slot);
    if (row && index < table->count) cs_stats_row_add(row, index, delta);
}

uint64_t cs_stats_sum(const cs_stats_table *table, uint32_t index) {
    if (index >= table->count) return 0;
    const uint64_t *rows = (const uint64_t *)((const char *)table + table->values_offset);
    uint64_t sum = 0;
    for (uint32_t p = 0; p < table->process_capacity; p++) {
        sum += __atomic_load_n(&rows[(uint64_t)p * table->row_words + index], __ATOMIC_RELAXED);
    }
    return sum;
}

uint64_t cs_stats_value(const cs_stats_table *table, uint32_t index) {
    if (index >= table->count) return 0;
    uint64_t sum = cs_stats_sum(table, index);
    uint64_t baseline = __atomic_load_n(&table->defs[index].baseline, __ATOMIC_RELAXED);
    return sum >= baseline ? sum - baseline : 0;
}

void cs_stats_reset(cs_stats_table *table, uint32_t index) {
    if (index >= table->count) return;
    __atomic_store_n(&table->defs[index].baseline, cs_stats_sum(table, index), __ATOMIC_RELAXED);
    __atomic_fetch_add(&table->resets, 1, __ATOMIC_RELAXED);
}
