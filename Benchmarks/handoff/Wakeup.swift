import CShared
import Histogram
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// One-way latency from a push to the moment a sleeping consumer holds the task: the
/// producer pauses between tasks so the consumer is asleep (futex or recv) each time.
func runWakeup(_ mechanism: Mechanism, samples: Int) throws -> (p50: Double, p99: Double, max: Double) {
    let bench = try Bench(samples: samples)
    let sampleWords = bench.words + 2
    let consumer = try Fork.child {
        var i = 0
        while i < samples, let t = bench.receive(via: mechanism) {
            let now = cs_now_ns()
            sampleWords[i] = now - t.pointee.words.0
            bench.ref.freeTask(t)
            i += 1
        }
        return 0
    }
    let producer = try Fork.child {
        for _ in 0..<samples {
            usleep(300) // long enough for the consumer to go to sleep
            guard let t = bench.ref.newTask() else { return 3 }
            t.pointee.words.0 = cs_now_ns()
            bench.send(t, via: mechanism)
        }
        return 0
    }
    _ = Fork.wait(producer)
    _ = Fork.wait(consumer)
    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
    for i in 0..<samples { _ = histogram.record(sampleWords[i]) }
    return (Double(histogram.valueAtPercentile(50)) / 1000, Double(histogram.valueAtPercentile(99)) / 1000,
            Double(histogram.max) / 1000)
}
