// cs_auth.h - the auth module's nonce state in the arena: the secret nonces are signed
// with and the nonce-count (nc) array that refuses replayed digest responses.
//
// Why this shim exists: a UA may send its response to any receiver process, so the
// secret and the last nc seen for each nonce must be the same for every process. The
// master lays the section out before fork (and fills the secret with random bytes when
// the config sets none); after that only the counters and the nc bytes change.
//
// Nonce ids: each challenge takes the next id (`next_id`, a 64-bit counter); its nc slot
// is `id & (size - 1)`. A slot is reused by the nonce issued `size` ids later, so a
// nonce whose id is `size` or more behind `next_id` has lost its slot: its nc can no
// longer be checked, and it is refused as stale (as Kamailio's nc_array_size warns).
//
// Synchronization table
//   cs_auth_init : the master, before fork; no lock.
//   cs_auth_issue : any process; relaxed fetch-add of next_id, then a release store of
//       0 into the nonce's slot (the slot belongs to the new nonce from then on).
//   cs_auth_nc_check : any process; acquire load of the slot, then a compare-and-swap
//       that stores the new nc only if it is above the stored one (two checks of one
//       nonce at once: one wins, the other sees the higher value and is a replay).
//   counters (issued, accepted, replays, lost) : relaxed atomic adds.
//   readers on a read-only mapping (respite-shm) : relaxed loads; the nc bytes are only
//       counted (slots in use), never trusted as sizes.
#ifndef CS_AUTH_H
#define CS_AUTH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Version of the "auth" section's layout.
#define CS_AUTH_VERSION 1u
#define CS_AUTH_SECRET_BYTES 32
/// The highest nc a nonce accepts (one byte per slot); a higher one is stale.
#define CS_AUTH_NC_MAX 255u

/// Where the secret comes from.
enum {
    /// Random bytes the master drew before fork (in `secret`).
    CS_AUTH_SECRET_RANDOM = 0,
    /// The `secret` modparam: each process derives it from its config; `secret` is zero.
    CS_AUTH_SECRET_CONFIGURED = 1,
};

/// Results of cs_auth_nc_check.
enum {
    CS_AUTH_NC_OK = 0,
    /// nc is not above the last one accepted for this nonce: a replay.
    CS_AUTH_NC_REPLAY = 1,
    /// The nonce's slot went to a newer nonce (or the id is not one issued here).
    CS_AUTH_NC_LOST = 2,
    /// nc is 0 or above CS_AUTH_NC_MAX.
    CS_AUTH_NC_RANGE = 3,
};

typedef struct cs_auth_nonces {
    uint32_t size;            ///< nc slots: a power of two (nc_array_size)
    uint32_t secret_source;   ///< CS_AUTH_SECRET_*
    uint32_t nonce_expire;    ///< seconds (for people reading the section)
    uint32_t nc_enabled;      ///< nonce_count: 1 when the nc of each nonce is checked
    uint64_t next_id;         ///< id of the next nonce issued; atomic
    uint64_t issued;          ///< nonces issued; atomic
    uint64_t accepted;        ///< nc checks passed; atomic
    uint64_t replays;         ///< nc not above the last one: refused; atomic
    uint64_t lost;            ///< nonces refused because their slot was reused; atomic
    uint64_t reserved;
    uint8_t secret[CS_AUTH_SECRET_BYTES]; ///< CS_AUTH_SECRET_RANDOM only
    uint8_t nc[];             ///< last nc accepted per slot (0: none yet); atomic bytes
} cs_auth_nonces;

_Static_assert(sizeof(cs_auth_nonces) == 96, "auth section layout is read by respite-shm");

/// Bytes of a section with `size` slots.
uint64_t cs_auth_bytes(uint32_t size);
/// Lays the section out (master, before fork). `size` must be a power of two; `secret`
/// (CS_AUTH_SECRET_BYTES bytes) may be NULL when the secret is configured.
void cs_auth_init(cs_auth_nonces *table, uint32_t size, const uint8_t *secret,
                  uint32_t nonce_expire, uint32_t nc_enabled);
/// Takes the next nonce id and clears its slot. Returns the id.
uint64_t cs_auth_issue(cs_auth_nonces *table);
/// Checks and records `nc` for nonce `id`. Returns a CS_AUTH_NC_* result.
int cs_auth_nc_check(cs_auth_nonces *table, uint64_t id, uint32_t nc);
/// Slots holding an nc (read-only walk for respite-shm; relaxed loads).
uint64_t cs_auth_slots_used(const cs_auth_nonces *table);

#ifdef __cplusplus
}
#endif
#endif
