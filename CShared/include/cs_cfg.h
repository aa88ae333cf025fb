// cs_cfg.h - the settings a running server lets an operator change (Kamailio's cfg
// framework: `kamcmd cfg.set core debug 3`), in the arena.
//
// Why this shim exists: a change must reach every process at once without a restart, so
// the current value of each changeable setting lives in the arena, and each process reads
// it where it uses it (the log level on every log call). The master lays the table out
// before fork: the set of settings is fixed, only values change.
//
// Values are 64-bit integers (the changeable settings Respite has are all numbers).
//
// Synchronization table
//   cs_cfg_table_init / cs_cfg_add : the master, before fork; no lock (nobody else runs).
//   cs_cfg_find : any process, no lock (names never change after fork).
//   cs_cfg_get : any process, any time; relaxed atomic load (a reader sees the old or
//       the new value, never a torn one).
//   cs_cfg_set : any process (an RPC handler); relaxed atomic store of the value, then
//       an increment of `changes`; two setters at once: the last store wins.
//   readers on a read-only mapping (respite-shm) : relaxed loads; names are checked for
//       their NUL before use.
#ifndef CS_CFG_H
#define CS_CFG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_CFG_GROUP_MAX 16
#define CS_CFG_NAME_MAX 32
#define CS_CFG_DESC_MAX 64
/// Version of the "cfg" section's layout.
#define CS_CFG_VERSION 1u

typedef struct cs_cfg_entry {
    char group[CS_CFG_GROUP_MAX];   ///< "core", "tm", ...; NUL-terminated
    char name[CS_CFG_NAME_MAX];     ///< "debug", ...; NUL-terminated
    char description[CS_CFG_DESC_MAX];
    int64_t value;                  ///< current value; atomic
    int64_t minimum;
    int64_t maximum;
    uint64_t changes;               ///< times cs_cfg_set changed it; atomic
} cs_cfg_entry;

typedef struct cs_cfg_table {
    uint32_t capacity;
    uint32_t count;                 ///< entries added by the master
    uint64_t reserved;
    cs_cfg_entry entries[];
} cs_cfg_table;

_Static_assert(sizeof(cs_cfg_entry) == 144, "cfg entry layout is read by respite-shm");
_Static_assert(sizeof(cs_cfg_table) == 16, "cfg table layout is read by respite-shm");

/// Bytes of a table of `capacity` settings.
uint64_t cs_cfg_table_bytes(uint32_t capacity);
void cs_cfg_table_init(cs_cfg_table *table, uint32_t capacity);
/// Adds a setting (master, before fork). Returns its index, or -1 when the table is full
/// or a name is too long.
int32_t cs_cfg_add(cs_cfg_table *table, const char *group, const char *name, const char *description,
                   int64_t value, int64_t minimum, int64_t maximum);
/// Index of group.name, or -1.
int32_t cs_cfg_find(const cs_cfg_table *table, const char *group, const char *name);
/// Relaxed load of a setting's value.
int64_t cs_cfg_get(const cs_cfg_table *table, int32_t index);
/// Stores a value within the setting's range. Returns 0, or -1 when out of range.
int cs_cfg_set(cs_cfg_table *table, int32_t index, int64_t value);

#ifdef __cplusplus
}
#endif
#endif
