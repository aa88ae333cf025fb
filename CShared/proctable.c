// The process table.
#include "cs_proctable.h"

#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <string.h>

#include "cs_lock.h"

uint64_t cs_proc_table_bytes(uint32_t capacity) {
    return sizeof(cs_proc_table) + (uint64_t)capacity * sizeof(cs_proc_entry);
}

void cs_proc_table_init(cs_proc_table *table, uint32_t capacity) {
    memset(table, 0, cs_proc_table_bytes(capacity));
    table->capacity = capacity;
}

int32_t cs_proc_claim(cs_proc_table *table, uint32_t role, int32_t rank, const char *description) {
    if (table->count >= table->capacity) return -1;
    int32_t index = (int32_t)table->count;
    cs_proc_entry *e = &table->entries[index];
    memset(e, 0, sizeof(*e));
    e->role = role;
    e->rank = rank;
    e->state = CS_PROC_STARTING;
    snprintf(e->description, sizeof(e->description), "%s", description ? description : "");
    __atomic_store_n(&table->count, table->count + 1, __ATOMIC_RELEASE);
    return index;
}

void cs_proc_started(cs_proc_table *table, int32_t index, int32_t pid) {
    if (index < 0 || (uint32_t)index >= table->capacity) return;
    cs_proc_entry *e = &table->entries[index];
    if (__atomic_load_n(&e->pid, __ATOMIC_RELAXED) != 0 && e->pid != pid) e->restarts++;
    __atomic_store_n(&e->started_realtime_ns, cs_realtime_ns(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->pid, pid, __ATOMIC_RELAXED);
    __atomic_store_n(&e->state, CS_PROC_RUNNING, __ATOMIC_RELEASE);
}

void cs_proc_set_state(cs_proc_table *table, int32_t index, uint32_t state) {
    if (index < 0 || (uint32_t)index >= table->capacity) return;
    __atomic_store_n(&table->entries[index].state, state, __ATOMIC_RELEASE);
}

void cs_proc_counter_add(cs_proc_table *table, int32_t index, uint32_t counter, uint64_t delta) {
    if (index < 0 || (uint32_t)index >= table->capacity || counter >= CS_PC_COUNT) return;
    __atomic_add_fetch(&table->entries[index].counters[counter], delta, __ATOMIC_RELAXED);
}

uint64_t cs_proc_counter_get(const cs_proc_table *table, int32_t index, uint32_t counter) {
    if (index < 0 || (uint32_t)index >= table->capacity || counter >= CS_PC_COUNT) return 0;
    return __atomic_load_n(&table->entries[index].counters[counter], __ATOMIC_RELAXED);
}

const char *cs_proc_counter_name(uint32_t counter) {
    static const char *const names[CS_PC_COUNT] = {
        "requests", "replies_in", "replies_out", "parse_errors",
        "tasks", "tasks_failed", "forwarded", "dropped",
        "log_suppressed",
    };
    return counter < CS_PC_COUNT ? names[counter] : "unknown";
}

const char *cs_proc_role_name(uint32_t role) {
    switch (role) {
    case CS_ROLE_MAIN: return "main";
    case CS_ROLE_UDP_RECEIVER: return "udp receiver";
    case CS_ROLE_TM_TIMER: return "timer";
    case CS_ROLE_ASYNC_WORKER: return "async worker";
    case CS_ROLE_ASYNC_TIMER: return "async timer";
    case CS_ROLE_ASYNC_MS_TIMER: return "async ms timer";
    case CS_ROLE_HELPER: return "helper";
    case CS_ROLE_HTTP_WORKER: return "http worker";
    case CS_ROLE_TCP_MAIN: return "tcp main";
    case CS_ROLE_TCP_RECEIVER: return "tcp receiver";
    case CS_ROLE_DNS_WORKER: return "dns worker";
    case CS_ROLE_RPC: return "rpc";
    default: return "none";
    }
}

int cs_proc_die_with_parent(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0) == 0 ? 0 : errno;
}

int cs_proc_set_timer_slack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0) == 0 ? 0 : errno;
}
