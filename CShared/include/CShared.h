// CShared: everything that lives in Respite's shared arena.
//
// Why this target exists: the arena's layout must be identical for every server process
// and for respite-shm, so it is defined once, in C, with static assertions; the
// primitives that need atomics, futexes and robust mutexes are here too. Swift sees
// plain structs, opaque storage and functions (never liburcu's macros).
#ifndef CSHARED_H
#define CSHARED_H

#include "cs_alloc.h"
#include "cs_arena.h"
#include "cs_async.h"
#include "cs_auth.h"
#include "cs_atomics.h"
#include "cs_cfg.h"
#include "cs_dnscache.h"
#include "cs_htable.h"
#include "cs_httpq.h"
#include "cs_lock.h"
#include "cs_proctable.h"
#include "cs_queue.h"
#include "cs_shv.h"
#include "cs_stats.h"
#include "cs_epoll.h"
#include "cs_rpcsock.h"
#include "cs_tcp.h"
#include "cs_tx.h"
#include "cs_txhold.h"
#include "cs_usrloc.h"
#include "cs_wheel.h"

#endif
