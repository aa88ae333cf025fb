import Glibc

/// The monotonic clock every time in the tool is read from, in nanoseconds.
enum MonotonicClock {
    /// Nanoseconds on `CLOCK_MONOTONIC` (since boot; only differences mean anything).
    @inline(__always)
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Asks the kernel to wake this process as close to its timeouts as it can (timer
    /// slack 1 ns instead of the default 50 µs), so pacing at several thousand requests a
    /// second keeps its spacing. Best effort: an error only costs precision.
    static func tightenTimerSlack() {
        let fd = open("/proc/self/timerslack_ns", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = write(fd, "1", 1)
        close(fd)
    }

    /// Seconds as a Double from a nanosecond difference.
    static func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }
}
