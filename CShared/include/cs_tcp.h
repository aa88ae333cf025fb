// cs_tcp.h - the TCP connections (section "tcpconn").
//
// Why it is in the arena: a request that came over a connection may be answered, or
// relayed over another connection, by any process (a receiver, an async task worker, a
// timer, an Http Worker). Only the `tcp main` process holds the connections' descriptors
// and does their I/O; every other process reaches a connection through this table (to
// check that it is still there before it queues bytes for it, to show it, to name it in
// `$conid`) and through two task queues: "tcp" carries framed messages from the tcp main
// to the `tcp receiver` processes, "tcp-out" carries bytes to send (and script requests
// such as closing a connection) from anyone to the tcp main.
//
// A connection is named by its id (`$conid`): (generation << CS_TCP_INDEX_BITS) | (index
// + 1), so the first connection is 1 as in Kamailio. The generation of a slot grows each
// time the slot is freed, and the free list is
// first in, first out, so an id held by a waiting transaction cannot name a newer
// connection until its slot went through 2^11 reuses, after every other free slot was
// used in turn; a send also checks the peer address, so a reply never reaches another peer.
//
// Synchronization table
//   cs_tcp_table_init : the master, before fork.
//   claim, release, every field of a slot, the table counters except send_failed :
//       the tcp main only (a single writer; it stores `id` last on claim, first on release,
//       with release/acquire ordering).
//   send_failed, queue_full : atomic adds by any process.
//   readers (any process, respite-shm) : without locks; they compare the id they hold
//       with the slot's before and after reading (cs_tcp_find).
//   after the tcp main dies, the master releases every slot (their descriptors died with
//       it) before it starts a new one: cs_tcp_release_all.
#ifndef CS_TCP_H
#define CS_TCP_H

#include <stdint.h>

#include "cs_tx.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_TCP_VERSION 1u
#define CS_TCP_INDEX_BITS 20
#define CS_TCP_MAX_CAPACITY 1048575u // (1 << CS_TCP_INDEX_BITS) - 1
#define CS_TCP_GENERATION_MASK 0x7FFu
#define CS_TCP_MAX_ALIASES 3
#define CS_TCP_NONE 0xFFFFFFFFu

typedef enum cs_tcp_state {
    CS_TCP_FREE = 0,
    CS_TCP_CONNECTING = 1,  ///< an outgoing connection waiting for connect() to finish
    CS_TCP_OPEN = 2,
} cs_tcp_state;

enum {
    CS_TCPF_OUTGOING = 1u << 0,   ///< we opened it (relaying); else a peer connected to us
    CS_TCPF_KEEPALIVE = 1u << 1,  ///< TCP keepalive is on (tcp_keepalive, tcp_keepalive_enable)
};

typedef struct cs_tcp_conn {
    uint32_t id;             ///< the connection id; 0 while the slot is free
    uint32_t state;          ///< cs_tcp_state
    uint32_t flags;          ///< CS_TCPF_*
    uint32_t next_free;      ///< free list link (CS_TCP_NONE: end)
    uint32_t generation;     ///< grows each time the slot is freed (kept while free)
    int32_t fd;              ///< the descriptor in the tcp main (-1 while free)
    cs_peer peer;            ///< the other end; socket_index: our listen socket; conid: id
    uint16_t alias_ports[CS_TCP_MAX_ALIASES]; ///< more ports of the peer's address this connection serves
    uint16_t alias_count;
    int32_t owner_pid;       ///< the tcp main that holds the descriptor
    uint32_t pending_out;    ///< bytes accepted for sending that the socket has not taken yet
    uint32_t reserved;
    uint64_t created_ms;     ///< monotonic
    uint64_t last_activity_ms; ///< last byte read or written
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t msgs_in;        ///< complete SIP messages read
    uint64_t msgs_out;       ///< messages written
    uint64_t reserved_end;
} cs_tcp_conn;

_Static_assert(sizeof(cs_tcp_conn) == 128, "tcp connection layout is read by respite-shm");

typedef struct cs_tcp_table {
    uint32_t capacity;       ///< slots (tcp_max_connections)
    uint32_t used;
    uint32_t free_head;
    uint32_t free_tail;
    uint32_t high_water;     ///< most connections open at once
    uint32_t reserved;
    uint64_t accepted;       ///< connections accepted from peers
    uint64_t connected;      ///< outgoing connections established
    uint64_t refused;        ///< connections refused: tcp_max_connections reached
    uint64_t connect_failed; ///< outgoing connections that failed or timed out
    uint64_t closed_by_peer; ///< EOF or reset from the peer
    uint64_t closed_idle;    ///< tcp_connection_lifetime without traffic
    uint64_t closed_read_timeout; ///< a message started and not finished in time (slowloris)
    uint64_t closed_bad_input;    ///< garbage, a message too large, a missing Content-Length
    uint64_t closed_by_script;    ///< tcp_close_connection()
    uint64_t closed_send_error;   ///< a write failed or stalled past tcp_send_timeout
    uint64_t msgs_in;
    uint64_t msgs_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t send_failed;    ///< sends refused before queueing: the connection was gone
    uint64_t queue_full;     ///< sends or messages refused because a queue was full
    uint64_t reserved2[5];
    cs_tcp_conn conns[];
} cs_tcp_table;

_Static_assert(sizeof(cs_tcp_table) == 192, "tcp table header layout is read by respite-shm");

uint64_t cs_tcp_table_bytes(uint32_t capacity);
void cs_tcp_table_init(cs_tcp_table *table, uint32_t capacity);
/// The tcp main: takes the oldest free slot, gives it a new id (state stays FREE until the
/// caller fills the slot and calls cs_tcp_publish). NULL when every slot is in use.
cs_tcp_conn *cs_tcp_claim(cs_tcp_table *table);
/// The tcp main: makes a filled slot visible to readers in `state`.
void cs_tcp_publish(cs_tcp_conn *conn, uint32_t state);
/// The tcp main: frees the slot (its id stops naming anything at once).
void cs_tcp_release(cs_tcp_table *table, cs_tcp_conn *conn);
/// The master, after the tcp main died: frees every slot; how many were in use.
uint32_t cs_tcp_release_all(cs_tcp_table *table);
/// The slot an id names while that connection lives, else NULL (any process).
cs_tcp_conn *cs_tcp_find(cs_tcp_table *table, uint32_t id);
/// Slot `index`, NULL past the capacity.
cs_tcp_conn *cs_tcp_at(cs_tcp_table *table, uint32_t index);
/// Atomic adds for the counters any process may change.
void cs_tcp_count_send_failed(cs_tcp_table *table);
void cs_tcp_count_queue_full(cs_tcp_table *table);

#ifdef __cplusplus
}
#endif
#endif
