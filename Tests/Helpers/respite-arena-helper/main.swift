// respite-arena-helper: multi-process scenarios for the arena tests.
//
// The tests run in a multi-threaded test runner, which must never fork; they start this
// small single-threaded program instead, which forks its own producers and consumers
// and prints one result line (`key=value` pairs) for the test to check.
import CShared
import Shared
#if canImport(Glibc)
import Glibc
#endif

var arguments = Array(CommandLine.arguments.dropFirst())
guard let scenario = arguments.first else {
    Posix.printError("usage: respite-arena-helper queue-stress|lock-kill|alloc-churn|cache-reclaim|hold|sht-increment|sht-lock-kill|hold-tables|tx-create-race|wheel-fire|hold-transactions|tx-lock-kill|tx-settle-kill|stats-sum [--key value ...]\n")
    exit(64)
}
let options = Options(Array(arguments.dropFirst()))

do {
    switch scenario {
    case "queue-stress": try queueStress(options)
    case "lock-kill": try lockKill(options)
    case "alloc-churn": try allocChurn(options)
    case "hold": try hold(options)
    case "cache-reclaim": try cacheReclaim(options)
    case "sht-increment": try shtIncrement(options)
    case "sht-lock-kill": try shtLockKill(options)
    case "hold-tables": try holdTables(options)
    case "tx-create-race": try txCreateRace(options)
    case "wheel-fire": try wheelFire(options)
    case "hold-transactions": try holdTransactions(options)
    case "tx-lock-kill": try txLockKill(options)
    case "tx-settle-kill": try txSettleKill(options)
    case "stats-sum": try statsSum(options)
    default:
        Posix.printError("unknown scenario \(scenario)\n")
        exit(64)
    }
} catch {
    Posix.printError("respite-arena-helper: \(error)\n")
    exit(1)
}
