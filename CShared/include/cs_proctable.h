// cs_proctable.h - the process table: who is running in this server.
//
// Why this shim exists: the master sizes the table before it forks; each child writes
// its own entry; respite-shm and the master read them. Names follow Kamailio's
// `core.psx` output so that users recognise them.
//
// Synchronization table
//   cs_proc_claim : the master, before fork (or when restarting a child); no lock needed
//       because only the master claims slots.
//   cs_proc_counter_add : the entry's own process only; relaxed atomics (readers may
//       see a slightly old value, never a torn one).
//   readers (master, respite-shm) : any time, no lock; relaxed loads.
#ifndef CS_PROCTABLE_H
#define CS_PROCTABLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cs_proc_role {
    CS_ROLE_NONE = 0,
    CS_ROLE_MAIN = 1,          ///< main process - attendant
    CS_ROLE_UDP_RECEIVER = 2,  ///< udp receiver child=N sock=IP:PORT
    CS_ROLE_TM_TIMER = 3,      ///< timer
    CS_ROLE_ASYNC_WORKER = 4,  ///< Async Task Worker - <group>
    CS_ROLE_ASYNC_TIMER = 5,   ///< ASYNC MOD TIMER
    CS_ROLE_ASYNC_MS_TIMER = 6,///< ASYNC MOD MS TIMER
    CS_ROLE_HELPER = 7,        ///< benchmarks and test helpers
    CS_ROLE_HTTP_WORKER = 8,   ///< Http Worker (http_async_client)
    CS_ROLE_TCP_MAIN = 9,      ///< tcp main process: every TCP descriptor and its I/O
    CS_ROLE_TCP_RECEIVER = 10, ///< tcp receiver (generic) child=N: runs the script for TCP messages
    CS_ROLE_DNS_WORKER = 11,   ///< DNS Worker: resolves names for suspended t_relay calls of receivers
    CS_ROLE_RPC = 12,          ///< ctl handler, JSONRPCS FIFO/DATAGRAM: management RPCs
} cs_proc_role;

typedef enum cs_proc_state {
    CS_PROC_FREE = 0,
    CS_PROC_STARTING = 1,
    CS_PROC_RUNNING = 2,
    CS_PROC_EXITED = 3,
} cs_proc_state;

/// Per-process counters; their meaning is fixed (cs_proc_counter_name).
typedef enum cs_proc_counter {
    CS_PC_REQUESTS = 0,     ///< SIP requests received
    CS_PC_REPLIES_IN = 1,   ///< SIP replies received
    CS_PC_REPLIES_OUT = 2,  ///< replies sent
    CS_PC_PARSE_ERRORS = 3, ///< datagrams that did not parse
    CS_PC_TASKS = 4,        ///< async tasks executed
    CS_PC_TASKS_FAILED = 5, ///< async tasks that found nothing to resume or failed
    CS_PC_FORWARDED = 6,    ///< requests relayed
    CS_PC_DROPPED = 7,      ///< datagrams dropped
    CS_PC_LOG_SUPPRESSED = 8, ///< log lines held back by a rate limit (counted in a summary line)
    CS_PC_COUNT = 9,
} cs_proc_counter;

#define CS_PROC_DESC_MAX 64

typedef struct cs_proc_entry {
    int32_t pid;
    uint32_t role;       ///< cs_proc_role
    int32_t rank;        ///< index among processes of the same role
    uint32_t state;      ///< cs_proc_state
    uint64_t started_realtime_ns;
    uint32_t restarts;   ///< times this slot's process was restarted
    uint32_t reserved;
    char description[CS_PROC_DESC_MAX];
    uint64_t counters[CS_PC_COUNT];
} cs_proc_entry;

typedef struct cs_proc_table {
    uint32_t capacity;
    uint32_t count;      ///< slots claimed so far
    uint64_t reserved;
    cs_proc_entry entries[];
} cs_proc_table;

_Static_assert(sizeof(cs_proc_entry) == 96 + 8 * CS_PC_COUNT, "process entry layout is read by respite-shm");
_Static_assert(sizeof(cs_proc_entry) == 168, "a new counter changes the layout: bump CS_LAYOUT_VERSION");
_Static_assert(sizeof(cs_proc_table) == 16, "process table layout is read by respite-shm");

/// Bytes needed for a table of `capacity` entries.
uint64_t cs_proc_table_bytes(uint32_t capacity);
void cs_proc_table_init(cs_proc_table *table, uint32_t capacity);
/// Claims the next slot (master only). Returns its index, or -1 when the table is full.
int32_t cs_proc_claim(cs_proc_table *table, uint32_t role, int32_t rank, const char *description);
/// Records the process now running in slot `index` (called by that process, or by the
/// master right after fork).
void cs_proc_started(cs_proc_table *table, int32_t index, int32_t pid);
void cs_proc_set_state(cs_proc_table *table, int32_t index, uint32_t state);
void cs_proc_counter_add(cs_proc_table *table, int32_t index, uint32_t counter, uint64_t delta);
uint64_t cs_proc_counter_get(const cs_proc_table *table, int32_t index, uint32_t counter);
/// Name of a counter for people and JSON ("requests", ...).
const char *cs_proc_counter_name(uint32_t counter);
/// Name of a role ("udp receiver", ...).
const char *cs_proc_role_name(uint32_t role);

/// Asks the kernel to send `signal` to the calling process when its parent dies, so a
/// child never outlives a master that was killed (prctl is variadic: Swift cannot call
/// it). Returns 0 or an errno value.
int cs_proc_die_with_parent(int signal);

/// Sets the calling process's timer slack (prctl PR_SET_TIMERSLACK): the millisecond
/// timer asks for 1 ns so that its sleeps end on time. Returns 0 or an errno value.
int cs_proc_set_timer_slack(unsigned long nanoseconds);

#ifdef __cplusplus
}
#endif
#endif
