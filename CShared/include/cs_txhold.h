// cs_txhold.h - which transaction references each process holds (section "txholds").
//
// Why this shim exists: a process that dies while it holds a reference to a transaction
// (a task worker in the middle of a resumed route, a receiver in the middle of its
// script, a timer process between taking due timers off its wheel and firing them)
// would leave that reference, and so the transaction and its memory, for good. Each
// process therefore records in its own row of this table every reference it holds, and
// the timers it has taken off a wheel but not fired yet; when the master reaps a dead
// process it settles that row (TransactionTable.settleHolds in Shared): a taken timer
// goes back to its wheel, due at once; a held transaction that nobody will answer is
// marked orphaned and its final-response timer fires at once (tm answers 500); every
// reference is dropped.
//
// An entry is an arena offset with a tag in bit 0: a transaction (cs_tx) has bit 0 set;
// a timer link (cs_timer_link) taken off the row's wheel has bit 0 clear; 0 is empty.
// Entries [0, CS_TXHOLD_REFS) hold references; the CS_TXHOLD_DUE entries after them are
// where cs_wheel_expire writes due links (under the wheel lock, so no due link is ever
// only in a process's private memory), each turned into a transaction entry in place when
// the timer process adopts its reference.
//
// What is not covered: a process killed in the few instructions between taking a
// reference and recording it (or between clearing the entry and dropping the reference)
// leaks that one reference; never the other way round, so no reference is dropped twice.
//
// Synchronization table
//   cs_txhold_init : the master, before fork.
//   entries of a row : written only by the row's process while it lives (relaxed atomic
//       stores), and by the master after it has reaped that process; read by anyone.
//   respite-shm : reads without locks.
#ifndef CS_TXHOLD_H
#define CS_TXHOLD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_TXHOLD_REFS 16
#define CS_TXHOLD_DUE 64
#define CS_TXHOLD_ENTRIES (CS_TXHOLD_REFS + CS_TXHOLD_DUE)
#define CS_TXHOLD_VERSION 1u

typedef struct cs_txhold_row {
    uint64_t wheel;      ///< offset of the wheel whose timers this process fires (0: none)
    uint64_t overflow;   ///< references taken while every reference entry was in use
    uint64_t entries[CS_TXHOLD_ENTRIES];
    uint64_t reserved[6];
} cs_txhold_row;

typedef struct cs_txhold_table {
    uint32_t rows;       ///< one per process-table slot
    uint32_t entries;    ///< CS_TXHOLD_ENTRIES
    uint64_t settled;    ///< entries the master has settled after a death
} cs_txhold_table;

_Static_assert(sizeof(cs_txhold_row) == 704, "hold row layout is read by respite-shm");
_Static_assert(sizeof(cs_txhold_table) == 16, "hold table layout is read by respite-shm");

uint64_t cs_txhold_table_bytes(uint32_t rows);
void cs_txhold_init(cs_txhold_table *table, uint32_t rows);
/// Row `slot`, or NULL past the table.
cs_txhold_row *cs_txhold_row_at(cs_txhold_table *table, uint32_t slot);
/// Records `entry` in the first free reference entry; its index, or -1 (counted in
/// `overflow`) when all are in use.
int32_t cs_txhold_add(cs_txhold_row *row, uint64_t entry);
/// Sets (or, with 0, clears) entry `index`.
void cs_txhold_set(cs_txhold_row *row, uint32_t index, uint64_t entry);
uint64_t cs_txhold_get(const cs_txhold_row *row, uint32_t index);

#ifdef __cplusplus
}
#endif
#endif
