// The async module's shared state.
#include "cs_async.h"

#include <string.h>

void cs_async_init(cs_async_state *state, uint32_t ring_tick_ms, uint32_t ms_tick_ms) {
    memset(state, 0, sizeof(*state));
    cs_doorbell_init(&state->ring_bell);
    cs_doorbell_init(&state->ms_bell);
    state->ring_tick_ms = ring_tick_ms;
    state->ms_tick_ms = ms_tick_ms;
}
