// auth.c - the auth module's nonce-count array (see cs_auth.h).
#include "cs_auth.h"

#include <string.h>

uint64_t cs_auth_bytes(uint32_t size) {
    return sizeof(cs_auth_nonces) + (uint64_t)size;
}

void cs_auth_init(cs_auth_nonces *table, uint32_t size, const uint8_t *secret,
                  uint32_t nonce_expire, uint32_t nc_enabled) {
    memset(table, 0, cs_auth_bytes(size));
    table->size = size;
    table->nonce_expire = nonce_expire;
    table->nc_enabled = nc_enabled;
    // Id 0 is never issued, so that a zeroed nonce can never name a live slot.
    table->next_id = 1;
    if (secret) {
        memcpy(table->secret, secret, CS_AUTH_SECRET_BYTES);
        table->secret_source = CS_AUTH_SECRET_RANDOM;
    } else {
        table->secret_source = CS_AUTH_SECRET_CONFIGURED;
    }
}

uint64_t cs_auth_issue(cs_auth_nonces *table) {
    uint64_t id = __atomic_fetch_add(&table->next_id, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&table->nc[id & (table->size - 1)], 0, __ATOMIC_RELEASE);
    __atomic_add_fetch(&table->issued, 1, __ATOMIC_RELAXED);
    return id;
}

// Whether the slot of `id` still belongs to it: issued here, and fewer than `size`
// nonces issued since.
static int owns_slot(cs_auth_nonces *table, uint64_t id) {
    uint64_t next = __atomic_load_n(&table->next_id, __ATOMIC_ACQUIRE);
    return id != 0 && id < next && next - id <= table->size;
}

int cs_auth_nc_check(cs_auth_nonces *table, uint64_t id, uint32_t nc) {
    if (nc == 0 || nc > CS_AUTH_NC_MAX) return CS_AUTH_NC_RANGE;
    if (!owns_slot(table, id)) {
        __atomic_add_fetch(&table->lost, 1, __ATOMIC_RELAXED);
        return CS_AUTH_NC_LOST;
    }
    uint8_t *slot = &table->nc[id & (table->size - 1)];
    uint8_t old = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    do {
        if (nc <= old) {
            __atomic_add_fetch(&table->replays, 1, __ATOMIC_RELAXED);
            return CS_AUTH_NC_REPLAY;
        }
    } while (!__atomic_compare_exchange_n(slot, &old, (uint8_t)nc, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    // A newer nonce may have taken the slot while we stored: then ours is gone.
    if (!owns_slot(table, id)) {
        __atomic_add_fetch(&table->lost, 1, __ATOMIC_RELAXED);
        return CS_AUTH_NC_LOST;
    }
    __atomic_add_fetch(&table->accepted, 1, __ATOMIC_RELAXED);
    return CS_AUTH_NC_OK;
}

uint64_t cs_auth_slots_used(const cs_auth_nonces *table) {
    uint64_t used = 0;
    for (uint32_t i = 0; i < table->size; i++) {
        if (__atomic_load_n(&table->nc[i], __ATOMIC_RELAXED) != 0) used++;
    }
    return used;
}
