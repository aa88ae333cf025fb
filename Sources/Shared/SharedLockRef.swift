import CShared

/// A view of a robust, process-shared lock in the arena.
///
/// If a holder dies (even by SIGKILL) the next `lock()` still succeeds and reports
/// `.recovered`, so a killed process never wedges the others.
public struct SharedLockRef: @unchecked Sendable {
    public let raw: UnsafeMutablePointer<cs_lock>

    public enum Acquired: Equatable { case clean, recovered }

    public init(_ raw: UnsafeMutablePointer<cs_lock>) { self.raw = raw }

    /// Initializes the lock's memory (creator only).
    public func initialize() throws(SystemCallError) {
        let rc = cs_lock_init(raw)
        if rc != 0 { throw SystemCallError("pthread_mutex_init", errno: rc) }
    }

    @discardableResult
    public func lock() -> Acquired {
        cs_lock_acquire(raw) == Int32(CS_LOCK_RECOVERED) ? .recovered : .clean
    }

    /// nil when another process holds it.
    public func tryLock() -> Acquired? {
        let rc = cs_lock_try(raw)
        if rc == Int32(CS_LOCK_OK) { return .clean }
        if rc == Int32(CS_LOCK_RECOVERED) { return .recovered }
        return nil
    }

    public func unlock() { cs_lock_release(raw) }

    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    public var holderPID: Int32 { raw.pointee.holder_pid }
    public var recoveries: UInt32 { raw.pointee.recoveries }
}

/// A view of a doorbell: consumers sleep on it, producers ring it.
public struct DoorbellRef: @unchecked Sendable {
    public let raw: UnsafeMutablePointer<cs_doorbell>

    public init(_ raw: UnsafeMutablePointer<cs_doorbell>) { self.raw = raw }

    public func ring(waking count: Int32 = 1) { cs_doorbell_ring(raw, count) }

    /// Sleeps until `condition` holds, the bell rings or `timeoutNanoseconds` passes.
    /// Returns whether the condition held when it returned.
    public func wait(timeoutNanoseconds: Int64, until condition: () -> Bool) -> Bool {
        let seen = cs_doorbell_seq(raw)
        if condition() { return true }
        cs_doorbell_prepare(raw)
        if condition() {
            cs_doorbell_cancel(raw)
            return true
        }
        _ = cs_doorbell_sleep(raw, seen, timeoutNanoseconds)
        return condition()
    }
}
