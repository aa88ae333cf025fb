// libFuzzer entry point for the config target: built by `make fuzz` with swiftc
// -sanitize=fuzzer, against a Script module built the same way, together with
// Tests/ScriptTests/ConfigFuzzTarget.swift (the body, which the corpus replay test shares)
// and the test registry it loads configs with.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ConfigFuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
