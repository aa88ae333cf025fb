import Foundation
import TestSupport

/// Compatibility shim, kept only for TransactionsMultiProcessTests.swift, which is being
/// rewritten elsewhere and still calls `Executables`: new tests use TestSupport's
/// `Products.run` and `Products.startReadingFirstLine` directly. Delete this file once
/// that test no longer uses it.
enum Executables {
    static func run(_ name: String, _ args: [String], timeout: TimeInterval = 60) throws -> RunResult {
        try Products.run(name, args, timeout: timeout)
    }

    static func start(_ name: String, _ args: [String], timeout: TimeInterval = 10) throws -> (ChildProcess, String) {
        try Products.startReadingFirstLine(name, args, timeout: timeout)
    }
}

extension ChildProcess {
    /// Foundation.Process's name for the pid, which the shim's callers use.
    var processIdentifier: pid_t { pid }
}
