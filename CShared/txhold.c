// Each process's record of the transaction references it holds (cs_txhold.h).
#include <string.h>

#include "cs_txhold.h"

uint64_t cs_txhold_table_bytes(uint32_t rows) { return sizeof(cs_txhold_table) + (uint64_t)rows * sizeof(cs_txhold_row); }

void cs_txhold_init(cs_txhold_table *table, uint32_t rows) {
    memset(table, 0, cs_txhold_table_bytes(rows));
    table->rows = rows;
    table->entries = CS_TXHOLD_ENTRIES;
}

cs_txhold_row *cs_txhold_row_at(cs_txhold_table *table, uint32_t slot) {
    if (slot >= table->rows) return NULL;
    return (cs_txhold_row *)((char *)table + sizeof(cs_txhold_table)) + slot;
}

int32_t cs_txhold_add(cs_txhold_row *row, uint64_t entry) {
    for (uint32_t i = 0; i < CS_TXHOLD_REFS; i++) {
        if (__atomic_load_n(&row->entries[i], __ATOMIC_RELAXED) == 0) {
            __atomic_store_n(&row->entries[i], entry, __ATOMIC_RELEASE);
            return (int32_t)i;
        }
    }
    __atomic_add_fetch(&row->overflow, 1, __ATOMIC_RELAXED);
    return -1;
}

void cs_txhold_set(cs_txhold_row *row, uint32_t index, uint64_t entry) {
    if (index < CS_TXHOLD_ENTRIES) __atomic_store_n(&row->entries[index], entry, __ATOMIC_RELEASE);
}

uint64_t cs_txhold_get(const cs_txhold_row *row, uint32_t index) {
    return index < CS_TXHOLD_ENTRIES ? __atomic_load_n(&row->entries[index], __ATOMIC_ACQUIRE) : 0;
}
