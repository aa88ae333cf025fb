// libFuzzer entry point for the SIP target: built by `make fuzz` with swiftc
// -sanitize=fuzzer against a SIP module built the same way (with testing enabled), together
// with Tests/SIPTests/SIPFuzzTarget.swift and FuzzInvariants.swift (compiled with -D FUZZING:
// no Testing), which the corpus replay test shares. A broken invariant aborts, which the
// fuzzer reports as a crash with the input.
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let violations = SIPFuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    if !violations.isEmpty {
        fputs(violations.joined(separator: "\n") + "\n", stderr)
        abort()
    }
    return 0
}
