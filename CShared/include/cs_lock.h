// cs_lock.h - process-shared locks and doorbells that live in the arena.
//
// Why this shim exists: Swift cannot express a robust, process-shared pthread mutex
// or a shared futex word portably; both must sit inside the arena so that every forked
// process (and nothing else) uses the same object.
//
// Synchronization table
//   cs_lock_acquire / cs_lock_release : any process; acquire gives acquire ordering,
//       release gives release ordering (pthread semantics).
//   cs_doorbell_ring : any process, no lock needed; seq_cst (pairs with the waiter's
//       re-check so that a ring between check and sleep is never lost).
//   cs_doorbell_prepare / cs_doorbell_sleep / cs_doorbell_cancel : any process, no
//       lock needed; seq_cst. prepare announces a sleeper before the caller's final
//       re-check; sleep returns after a ring, a timeout or a signal (so callers always
//       re-check their condition); cancel withdraws the announcement instead.
#ifndef CS_LOCK_H
#define CS_LOCK_H

#include <pthread.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A robust, process-shared mutex. If its holder dies, the next acquirer gets it
/// (CS_LOCK_RECOVERED) instead of blocking forever.
typedef struct cs_lock {
    pthread_mutex_t mutex;
    /// pid of the current holder (informational, for respite-shm); 0 when free.
    int32_t holder_pid;
    /// how many times a dead holder's lock was recovered.
    uint32_t recoveries;
} cs_lock;

enum {
    CS_LOCK_OK = 0,
    /// The previous holder died while holding the lock; the lock is now held and
    /// consistent again, but the data it protects may need repair.
    CS_LOCK_RECOVERED = 1,
};

/// Initializes a lock in shared memory. Returns 0 or an errno value.
int cs_lock_init(cs_lock *lock);
/// As cs_lock_init, but the holder may take the lock again (it must release it as
/// many times). Used for hash-table buckets, whose sht_lock/sht_unlock pair encloses
/// sets that take the same bucket lock. cs_lock_release clears holder_pid even when it
/// only ends a nested hold; cs_htable counts the depth itself to avoid that.
int cs_lock_init_recursive(cs_lock *lock);
/// Blocks until the lock is held. Returns CS_LOCK_OK or CS_LOCK_RECOVERED.
int cs_lock_acquire(cs_lock *lock);
/// Takes the lock if free. Returns CS_LOCK_OK, CS_LOCK_RECOVERED, or EBUSY.
int cs_lock_try(cs_lock *lock);
/// Releases a lock held by the calling process.
void cs_lock_release(cs_lock *lock);

/// A doorbell: a shared futex word that lets consumers sleep until a producer rings.
typedef struct cs_doorbell {
    uint32_t seq;      ///< bumped by every ring; the futex word
    uint32_t sleepers; ///< processes between cs_doorbell_prepare and the end of their sleep or cancel
} cs_doorbell;

void cs_doorbell_init(cs_doorbell *bell);
/// Reads the ring counter. Read it *before* checking the condition you wait for.
uint32_t cs_doorbell_seq(const cs_doorbell *bell);
/// Wakes up to `count` sleepers. Costs one load when nobody sleeps: the counter only
/// moves, and the futex is only called, when a sleeper announced itself.
void cs_doorbell_ring(cs_doorbell *bell, int count);
/// Declares the caller a sleeper. Call before the final re-check of the condition.
void cs_doorbell_prepare(cs_doorbell *bell);
/// Sleeps until the counter moves away from `seen` or `timeout_ns` passes
/// (negative: no timeout); then drops the sleeper mark taken by cs_doorbell_prepare.
/// Returns 0 (rung, or rung before it slept), ETIMEDOUT or EINTR.
int cs_doorbell_sleep(cs_doorbell *bell, uint32_t seen, int64_t timeout_ns);
/// Drops the sleeper mark without sleeping (the re-check found work).
void cs_doorbell_cancel(cs_doorbell *bell);

/// Monotonic clock in nanoseconds.
uint64_t cs_now_ns(void);
/// Wall clock in nanoseconds since the epoch.
uint64_t cs_realtime_ns(void);

#ifdef __cplusplus
}
#endif
#endif
