// cs_stats.h - named statistics (section "stats"), as Kamailio's `counters` and
// `stats.get_statistics` show them.
//
// Why it is in the arena: every process counts what it does (a receiver the requests it
// reads, the tm timer the transactions it frees), and a reader outside the server
// (respite-shm, an RPC or /metrics handler in any process) needs the sum. Counting must
// cost one relaxed add on a cache line no other process writes, so each statistic has one
// counter per process slot and readers add the slots up.
//
// Layout, fixed by the master before fork (cs_stats_init, then cs_stats_define for each
// statistic): the header, `count` definitions (group, name, kind, reset baseline), then,
// at `values_offset` from the header, a matrix of `process_capacity` rows of `row_words`
// uint64 counters: row = the process table slot, column = the statistic's index. Rows are
// padded to a multiple of 8 words (64 bytes) so that two processes never write one
// cache line. A gauge (CS_STAT_GAUGE) is only a name here: its value is computed by the
// reader from another structure (tm:current from the transaction table); its row words
// stay 0.
//
// Reset: counters never go down. cs_stats_reset stores the current sum as the statistic's
// baseline, and readers return sum - baseline, so a reset touches no process's row.
//
// Synchronization table
//   cs_stats_init, cs_stats_define : the master, before fork; nothing else runs.
//   cs_stats_add (and adds through cs_stats_row) : only the process that owns the slot
//       (its process table slot) writes its row; relaxed atomic add. A process restarted
//       in the same slot goes on from the row its predecessor left (the sum stays monotonic).
//   cs_stats_sum, cs_stats_value : any process or respite-shm, any time, no lock; relaxed
//       loads, so a sum may miss adds in flight, never sees a torn word.
//   cs_stats_reset : any process (an RPC), any time, no lock; relaxed store of the
//       baseline. Two resets at once leave one of their sums; adds in flight during a reset
//       may land on either side of it.
//   definitions (group, name, kind) : read-only after fork.
#ifndef CS_STATS_H
#define CS_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_STATS_VERSION 1u
#define CS_STAT_GROUP_MAX 16
#define CS_STAT_NAME_MAX 40
#define CS_STATS_MAX 4096

typedef enum cs_stat_kind {
    CS_STAT_COUNTER = 0, ///< counted in the rows
    CS_STAT_GAUGE = 1,   ///< computed by the reader from another structure
} cs_stat_kind;

typedef struct cs_stat_def {
    char group[CS_STAT_GROUP_MAX]; ///< NUL-terminated: "core", "tm", "sl"
    char name[CS_STAT_NAME_MAX];   ///< NUL-terminated: "rcv_requests"
    uint32_t kind;                 ///< cs_stat_kind
    uint32_t reserved;
    uint64_t baseline;             ///< the sum at the last reset
} cs_stat_def;

typedef struct cs_stats_table {
    uint32_t count;            ///< statistics defined
    uint32_t process_capacity; ///< rows
    uint32_t row_words;        ///< uint64 words per row (count rounded up to 8)
    uint32_t reserved;
    uint64_t values_offset;    ///< bytes from this header to row 0
    uint64_t resets;           ///< cs_stats_reset calls
    cs_stat_def defs[];
} cs_stats_table;

_Static_assert(sizeof(cs_stat_def) == 72, "statistic definition layout is read by respite-shm");
_Static_assert(sizeof(cs_stats_table) == 32, "statistics header layout is read by respite-shm");

/// Bytes the section needs for `count` statistics and `process_capacity` rows.
uint64_t cs_stats_bytes(uint32_t count, uint32_t process_capacity);
/// The master, before fork: an empty table (every definition blank, every row zero).
void cs_stats_init(cs_stats_table *table, uint32_t count, uint32_t process_capacity);
/// The master, before fork: names statistic `index`. 0, or EINVAL for an index out of
/// range or a group or name that does not fit.
int cs_stats_define(cs_stats_table *table, uint32_t index, const char *group, const char *name, uint32_t kind);
/// The index of `group`:`name`, or -1 (any process; a walk: call it once at start-up).
int32_t cs_stats_find(const cs_stats_table *table, const char *group, const char *name);
/// Row `slot` (the counters of that process), NULL past the capacity.
uint64_t *cs_stats_row(cs_stats_table *table, int32_t slot);
/// The owner of `slot` adds `delta` to statistic `index` (relaxed; out of range: nothing).
void cs_stats_add(cs_stats_table *table, int32_t slot, uint32_t index, uint64_t delta);
/// The sum of every row for `index` (relaxed loads; 0 out of range).
uint64_t cs_stats_sum(const cs_stats_table *table, uint32_t index);
/// sum - baseline: the value since the last reset.
uint64_t cs_stats_value(const cs_stats_table *table, uint32_t index);
/// Makes the value of `index` start again from 0 (stores the sum as its baseline).
void cs_stats_reset(cs_stats_table *table, uint32_t index);

/// The hot path: adds to a row a process obtained once with cs_stats_row (relaxed).
static inline void cs_stats_row_add(uint64_t *row, uint32_t index, uint64_t delta) {
    __atomic_fetch_add(&row[index], delta, __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif
#endif
