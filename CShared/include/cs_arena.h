// cs_arena.h - the layout of the shared arena: header and section directory.
//
// Why this shim exists: every process of a server, and the respite-shm tool, must agree
// byte for byte on where things are. The layout is defined once, here, in C, with static
// assertions; Swift and the tool only follow offsets from this header.
//
// Everything a tool reads is reachable from the header through offsets relative to the
// arena's start, so a read-only mapping at any address can be followed. The server
// processes also use plain pointers, which are valid because the master maps the arena
// before it forks (same address everywhere); `base_address` records that address.
//
// Synchronization: the header and the section directory are written by the creating
// (master) process before any fork and never change after `state` becomes
// CS_ARENA_READY, so they are read without a lock.
//
// Versions: the identity prefix (magic, layout_version, header_size, creator_pid) keeps
// its offsets in every layout version, so a server can tell who made an arena of an
// older layout and whether that process is gone. Layout 2 added creator_start_ticks;
// an arena of layout 1 names its creator by pid alone.
#ifndef CS_ARENA_H
#define CS_ARENA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ARENA_MAGIC 0x314E5241504D5352ULL /* "RSMPARN1" little-endian */
#define CS_LAYOUT_VERSION 2u
#define CS_SECTION_NAME_MAX 24
#define CS_MAX_SECTIONS 32

/// What a section holds, so a tool knows how to read it.
typedef enum cs_section_kind {
    CS_SECTION_RAW = 0,
    CS_SECTION_ALLOCATOR = 1,
    CS_SECTION_PROCTABLE = 2,
    CS_SECTION_QUEUES = 3,
    CS_SECTION_ALLOC_CACHES = 4,
    CS_SECTION_SHV = 5,          ///< cs_shv_table: $shv shared variables
    CS_SECTION_HTABLE = 6,       ///< cs_htable_dir: $sht hash tables
    CS_SECTION_TXTABLE = 7,      ///< cs_tx_table: tm's transactions
    CS_SECTION_WHEEL = 8,        ///< cs_timer_wheel: one timing wheel
    CS_SECTION_ASYNC = 9,        ///< cs_async_state: the async module's doorbells and counters
    CS_SECTION_TXHOLDS = 10,     ///< cs_txhold_table: the transaction references each process holds
    CS_SECTION_HTTPQ = 11,       ///< cs_httpq_table: http_async_client's pending queries
    CS_SECTION_DNSCACHE = 12,    ///< cs_dns_cache: the core's DNS cache
    CS_SECTION_TCPCONN = 13,     ///< cs_tcp_table: TCP connections (12: the DNS cache)
    CS_SECTION_STATS = 14,       ///< cs_stats_table: named statistics, one counter row per process
    CS_SECTION_CFG = 15,         ///< cs_cfg_table: settings changeable at run time (cfg.set)
    CS_SECTION_USRLOC = 16,      ///< cs_ul_table: usrloc's location table (registered contacts)
    CS_SECTION_AUTH = 17,        ///< cs_auth_nonces: the auth module's secret and nonce counts
} cs_section_kind;

/// One entry of the section directory.
typedef struct cs_section {
    char name[CS_SECTION_NAME_MAX]; ///< NUL-terminated
    uint64_t offset;                ///< from the arena start
    uint64_t size;                  ///< bytes
    uint32_t kind;                  ///< cs_section_kind
    uint32_t version;               ///< layout version of the section's structure
} cs_section;

/// Arena flags.
enum {
    /// Allocations carry fences and allocation sites; cs_alloc_check can walk them.
    CS_ARENA_DEBUG = 1u << 0,
};

/// Arena states.
enum {
    CS_ARENA_INITIALIZING = 0,
    CS_ARENA_READY = 1,
};

/// The first bytes of the arena.
typedef struct cs_arena_header {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t header_size;        ///< sizeof(cs_arena_header)
    uint64_t base_address;       ///< where the creator mapped it (same in its children)
    uint64_t size;               ///< total bytes of the arena
    int32_t creator_pid;         ///< the master that created it
    uint32_t flags;              ///< CS_ARENA_*
    uint64_t created_realtime_ns;
    uint32_t state;              ///< CS_ARENA_*
    uint32_t section_count;
    uint64_t allocator_offset;   ///< cs_allocator control block
    char name[64];               ///< shm object name, for people
    /// The creator's start time: field 22 (starttime) of /proc/<pid>/stat, clock ticks
    /// after boot; 0 when it could not be read. With creator_pid it names one process
    /// for good, since pids are reused and start times are not (for a given pid).
    uint64_t creator_start_ticks;
    uint64_t reserved[7];        ///< zero; a later field may take one (0 = not recorded)
    cs_section sections[CS_MAX_SECTIONS];
} cs_arena_header;

_Static_assert(offsetof(cs_arena_header, magic) == 0, "identity prefix: fixed in every layout");
_Static_assert(offsetof(cs_arena_header, layout_version) == 8, "identity prefix: fixed in every layout");
_Static_assert(offsetof(cs_arena_header, header_size) == 12, "identity prefix: fixed in every layout");
_Static_assert(offsetof(cs_arena_header, creator_pid) == 32, "identity prefix: fixed in every layout");
_Static_assert(offsetof(cs_arena_header, creator_start_ticks) == 128, "header layout is read by respite-shm");
_Static_assert(sizeof(cs_section) == 48, "cs_section layout is read by respite-shm");
_Static_assert(offsetof(cs_arena_header, sections) == 192, "header layout is read by respite-shm");
_Static_assert(sizeof(cs_arena_header) % 16 == 0, "header keeps what follows aligned");

/// Lays out a fresh arena in `base` (`size` bytes, zero-filled): header, allocator.
/// `creator_start_ticks` is the creator's /proc starttime (0 when unknown).
/// Called once by the creator, before any fork. Returns 0, or EINVAL if too small.
int cs_arena_format(void *base, uint64_t size, uint32_t flags, int32_t creator_pid,
                    uint64_t creator_start_ticks, const char *name);

/// Marks the arena complete: after this, header and directory are read-only.
void cs_arena_set_ready(cs_arena_header *arena);

/// Allocates a section of `size` bytes aligned to 64 and records it under `name`.
/// Creator only, before fork. Returns the section's address, or NULL when the arena is
/// full, the directory is full or the name is taken.
void *cs_arena_add_section(cs_arena_header *arena, const char *name, uint64_t size,
                           uint32_t kind, uint32_t version);

/// Finds a section by name in a validated arena. NULL when absent.
const cs_section *cs_arena_find_section(const cs_arena_header *arena, const char *name);

/// Checks a mapping of `mapped_size` bytes for a well-formed header and directory.
/// Read-only; safe on garbage. Returns 0 or a CS_INVALID_* code; `why` gets a sentence.
int cs_arena_validate(const void *base, uint64_t mapped_size, char *why, size_t why_size);

enum {
    CS_INVALID_TOO_SMALL = 1,
    CS_INVALID_MAGIC = 2,
    CS_INVALID_VERSION = 3,
    CS_INVALID_SIZE = 4,
    CS_INVALID_SECTION = 5,
    CS_INVALID_STATE = 6,
};

#ifdef __cplusplus
}
#endif
#endif
