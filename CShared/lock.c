// Robust process-shared mutexes and futex doorbells.
#include "cs_lock.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef _GNU_SOURCE
#error "CShared needs _GNU_SOURCE (robust mutexes, futex)"
#endif

int cs_lock_init(cs_lock *lock) {
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0) return rc;
    if ((rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) == 0 &&
        (rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) == 0) {
        rc = pthread_mutex_init(&lock->mutex, &attr);
    }
    pthread_mutexattr_destroy(&attr);
    lock->holder_pid = 0;
    lock->recoveries = 0;
    return rc;
}

int cs_lock_init_recursive(cs_lock *lock) {
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0) return rc;
    if ((rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) == 0 &&
        (rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) == 0 &&
        (rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE)) == 0) {
        rc = pthread_mutex_init(&lock->mutex, &attr);
    }
    pthread_mutexattr_destroy(&attr);
    lock->holder_pid = 0;
    lock->recoveries = 0;
    return rc;
}

// getpid() is a system call in current glibc; the holder pid is stamped on every lock,
// so it is cached per process and forgotten in a forked child.
static int32_t cached_pid;

static void forget_pid_after_fork(void) { cached_pid = 0; }

__attribute__((constructor)) static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, forget_pid_after_fork);
}

static inline int32_t self_pid(void) {
    if (cached_pid == 0) cached_pid = (int32_t)getpid();
    return cached_pid;
}

static int after_lock(cs_lock *lock, int rc) {
    if (rc == EOWNERDEAD) {
        // The holder died inside its critical section: mark the mutex usable again and
        // tell the caller, who knows what the lock protected.
        pthread_mutex_consistent(&lock->mutex);
        __atomic_add_fetch(&lock->recoveries, 1, __ATOMIC_RELAXED);
        rc = CS_LOCK_RECOVERED;
    }
    if (rc == CS_LOCK_OK || rc == CS_LOCK_RECOVERED) {
        __atomic_store_n(&lock->holder_pid, self_pid(), __ATOMIC_RELAXED);
    }
    return rc;
}

int cs_lock_acquire(cs_lock *lock) {
    int rc;
    do {
        rc = pthread_mutex_lock(&lock->mutex);
    } while (rc == EINTR || rc == EAGAIN);
    return after_lock(lock, rc);
}

int cs_lock_try(cs_lock *lock) {
    return after_lock(lock, pthread_mutex_trylock(&lock->mutex));
}

void cs_lock_release(cs_lock *lock) {
    __atomic_store_n(&lock->holder_pid, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&lock->mutex);
}

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout) {
    // Shared (not FUTEX_PRIVATE) futexes: the word lives in a MAP_SHARED mapping and is
    // waited on from several processes.
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

void cs_doorbell_init(cs_doorbell *bell) {
    bell->seq = 0;
    bell->sleepers = 0;
}

uint32_t cs_doorbell_seq(const cs_doorbell *bell) {
    return __atomic_load_n(&bell->seq, __ATOMIC_SEQ_CST);
}

void cs_doorbell_ring(cs_doorbell *bell, int count) {
    // The caller made its condition true before this (seq_cst) load. A waiter reads
    // `seq`, then announces itself, then re-checks the condition: either we see it
    // here and move `seq` (its futex wait then returns), or it sees the condition.
    if (__atomic_load_n(&bell->sleepers, __ATOMIC_SEQ_CST) != 0) {
        __atomic_add_fetch(&bell->seq, 1, __ATOMIC_SEQ_CST);
        futex(&bell->seq, FUTEX_WAKE, (uint32_t)count, NULL);
    }
}

void cs_doorbell_prepare(cs_doorbell *bell) {
    __atomic_add_fetch(&bell->sleepers, 1, __ATOMIC_SEQ_CST);
    // The caller's re-check that follows must not be satisfied from before the
    // announcement (it may use relaxed loads, like liburcu's cds_wfcq_empty).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void cs_doorbell_cancel(cs_doorbell *bell) {
    __atomic_sub_fetch(&bell->sleepers, 1, __ATOMIC_SEQ_CST);
}

int cs_doorbell_sleep(cs_doorbell *bell, uint32_t seen, int64_t timeout_ns) {
    long rc;
    if (timeout_ns >= 0) {
        struct timespec ts = {.tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL};
        rc = futex(&bell->seq, FUTEX_WAIT, seen, &ts);
    } else {
        rc = futex(&bell->seq, FUTEX_WAIT, seen, NULL);
    }
    int result = 0;
    if (rc != 0 && (errno == EINTR || errno == ETIMEDOUT)) result = errno;
    // EAGAIN means it was rung before we slept: like a wake-up, go and re-check.
    __atomic_sub_fetch(&bell->sleepers, 1, __ATOMIC_SEQ_CST);
    return result;
}

uint64_t cs_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t cs_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
