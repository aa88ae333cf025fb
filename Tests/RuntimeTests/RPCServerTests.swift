import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The management interfaces end to end against the built server: Debian's own `kamcmd`
/// over ctl's unix and TCP sockets, JSON-RPC on the FIFO and the datagram socket, and the
/// bad clients a ctl handler must survive while it keeps answering everyone else.
@Suite(.serialized) struct RPCServerTests {
    static let config = """
    debug=2
    children=2
    listen=udp:127.0.0.1:PORT
    loadmodule "sl.so"
    loadmodule "tm.so"
    loadmodule "pv.so"
    loadmodule "xlog.so"
    loadmodule "htable.so"
    loadmodule "async.so"
    loadmodule "ctl.so"
    loadmodule "cfg_rpc.so"
    loadmodule "jsonrpcs.so"
    modparam("ctl", "binrpc", "unix:DIR/ctl.sock")
    modparam("ctl", "binrpc", "tcp:127.0.0.1:CTLPORT")
    modparam("jsonrpcs", "fifo_name", "DIR/rpc.fifo")
    modparam("jsonrpcs", "fifo_reply_dir", "DIR/")
    modparam("jsonrpcs", "dgram_socket", "DIR/rpc.sock")
    modparam("htable", "htable", "users=>size=4;")
    modparam("async", "workers", 1)
    async_workers_group="name=slow;workers=1"

    request_route {
        xlog("L_DBG", "rpc-test debug line for $rU\\n");
        sl_send_reply("200", "OK");
    }
    """

    let directory: URL
    let server: ServerProcess
    var socket: String { "unix:" + directory.appendingPathComponent("ctl.sock").path }

    init() throws {
        directory = try Spawn.scratchDirectory("rpc")
        let ctlPort = try FreePort.server()
        server = try ServerProcess(config: Self.config.replacingOccurrences(of: "DIR", with: directory.path)
            .replacingOccurrences(of: "CTLPORT", with: String(ctlPort)))
    }

    static let kamcmdPath = "/usr/sbin/kamcmd"

    func kamcmd(_ args: String..., socket given: String? = nil) throws -> RunResult {
        try Spawn.run(Self.kamcmdPath, ["-s", given ?? socket] + args, timeout: 10)
    }

    @Test func kamcmdListsTheProcessesAndTheArena() throws {
        let psx = try kamcmd("core.psx")
        #expect(psx.status == 0, "\(psx.stderr)")
        for name in ["main process - attendant", "udp receiver child=0 sock=127.0.0.1:\(server.port)", "ctl handler",
                     "JSONRPCS FIFO", "JSONRPCS DATAGRAM", "Async Task Worker - slow", "timer"] {
            #expect(psx.stdout.contains("DSC: \(name)\n"), "\(name) missing from\n\(psx.stdout)")
        }
        #expect(psx.stdout.contains("PID: \(server.pid)\n"))
        let shm = try kamcmd("core.shmmem")
        for key in ["total", "free", "used", "real_used", "max_used", "fragments"] {
            #expect(shm.stdout.contains("\t\(key): "), "\(shm.stdout)")
        }
        let groups = try kamcmd("async.groups")
        #expect(groups.stdout.contains("name: slow\n") && groups.stdout.contains("workers: 1\n"), "\(groups.stdout)")
        let overTCP = try kamcmd("core.version", socket: "tcp:127.0.0.1:" + String(ctlPortFromConfig()))
        #expect(overTCP.stdout == "respite 0.1.0 (x86_64/linux)\n", "\(overTCP.stdout) \(overTCP.stderr)")
    }

    func ctlPortFromConfig() throws -> Int {
        let text = try String(contentsOf: server.configURL, encoding: .utf8)
        let line = text.split(separator: "\n").first { $0.contains("tcp:127.0.0.1:") && $0.contains("ctl") }!
        return Int(line.split(separator: ":").last!.prefix { $0.isNumber })!
    }

    @Test func anUnknownMethodOrAWrongParameterIsAnErrorReply() throws {
        let unknown = try kamcmd("no.such")
        #expect(unknown.stdout + unknown.stderr == "error: 500 - command no.such not found\n")
        let badInt = try kamcmd("htable.seti", "users", "k", "s:notanumber")
        #expect((badInt.stdout + badInt.stderr).hasPrefix("error: 400 - invalid parameter type"), "\(badInt.stdout)\(badInt.stderr)")
        let missing = try kamcmd("htable.get", "users")
        #expect((missing.stdout + missing.stderr).hasPrefix("error: 400 - missing parameter"))
        #expect(try kamcmd("core.version").status == 0)
    }

    @Test func htableChangesAreSeenByTheScriptAndTheDump() throws {
        #expect(try kamcmd("htable.sets", "users", "alice", "sip:alice@example.com").stdout == "Ok. Key set to new value.\n")
        #expect(try kamcmd("htable.seti", "users", "n", "41").status == 0)
        let dump = try kamcmd("htable.dump", "users").stdout
        #expect(dump.contains("name: alice\n") && dump.contains("value: sip:alice@example.com\n") && dump.contains("type: str\n"), "\(dump)")
        #expect(dump.contains("value: 41\n") && dump.contains("type: int\n"))
        let get = try kamcmd("htable.get", "users", "n").stdout
        #expect(get.contains("item: {") && get.contains("expire: NEVER"), "\(get)")
        #expect(try kamcmd("htable.delete", "users", "n").stdout == "Ok. Key deleted.\n")
        #expect(try kamcmd("htable.get", "users", "n").stdout.contains("error: 500"))
    }

    @Test func cfgSetChangesTheLogLevelOfEveryProcessWithoutARestart() throws {
        #expect(try kamcmd("cfg.get", "core", "debug").stdout == "2\n")
        let client = try SIPTestClient(server: server.port)
        func ping(_ user: String) throws {
            #expect(client.exchange(client.request("OPTIONS", user: user), timeout: 3)?.statusCode == 200)
        }
        try ping("before")
        #expect(try kamcmd("cfg.set", "core", "debug", "3").status == 0)
        #expect(try kamcmd("cfg.get", "core", "debug").stdout == "3\n")
        // Both receivers log at the new level: send until each has.
        for i in 0..<20 { try ping("after\(i)") }
        #expect(waitUntil(timeout: 3) { server.log.contains("rpc-test debug line for after") })
        #expect(!server.log.contains("rpc-test debug line for before"))
        #expect(try kamcmd("cfg.set", "core", "debug", "99").stdout.contains("error: 400"))
        #expect(try kamcmd("cfg.set", "core", "debug", "2").status == 0)
    }

    @Test func jsonRPCOverTheFIFOAndTheDatagramSocket() throws {
        let reply = directory.appendingPathComponent("reply.fifo").path
        #expect(mkfifo(reply, 0o600) == 0)
        let reader = try Spawn.start("/usr/bin/timeout", ["5", "cat", reply],
                                     stdoutPath: directory.appendingPathComponent("fifo.out").path, stderrPath: "/dev/null")
        usleep(100_000)
        let fifo = open(directory.appendingPathComponent("rpc.fifo").path, O_WRONLY)
        #expect(fifo >= 0)
        let doc = #"{"jsonrpc":"2.0","method":"core.version","reply_name":"reply.fifo","id":1}"# + "\n"
        _ = doc.withCString { write(fifo, $0, strlen($0)) }
        close(fifo)
        _ = reader.waitUntilExit(timeout: 6)
        let fifoOut = (try? String(contentsOf: directory.appendingPathComponent("fifo.out"), encoding: .utf8)) ?? ""
        #expect(fifoOut.contains("\"result\":\t\"respite 0.1.0 (x86_64/linux)\""), "\(fifoOut)")

        let client = try LoopbackUnixDatagram(directory: directory)
        let answer = try client.ask(#"{"jsonrpc":"2.0","method":"core.psx","id":"p"}"#, to: directory.appendingPathComponent("rpc.sock").path)
        #expect(answer.contains("\"DSC\":\t\"ctl handler\"") && answer.contains("\"id\":\t\"p\""), "\(answer)")
        let bad = try client.ask("{not json", to: directory.appendingPathComponent("rpc.sock").path)
        #expect(bad.contains("-32700"), "\(bad)")
    }

    @Test func badClientsGetAnErrorOrAClosedConnectionAndTheHandlerKeepsServing() throws {
        let path = directory.appendingPathComponent("ctl.sock").path
        // One that connects and never sends, held open for the whole test.
        let silent = try LoopbackUnixStream(path: path)
        // Garbage: the connection is closed.
        let garbage = try LoopbackUnixStream(path: path)
        garbage.send(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        #expect(garbage.readUntilClosed(timeout: 3).isEmpty)
        // A header announcing 1 MB: a fault, then the connection is closed.
        let huge = try LoopbackUnixStream(path: path)
        huge.send([0xA1, 0x0B, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01])
        let fault = huge.readUntilClosed(timeout: 3)
        #expect(fault.first == 0xA1 && fault.count > 2 && fault[1] >> 4 == 3, "\(fault)")
        // A truncated request, then the client leaves.
        let truncated = try LoopbackUnixStream(path: path)
        truncated.send(Array(([0xA1, 0x03, 0x20, 0, 0, 0, 1, 0x91, 0x0a] + Array("core.p".utf8))))
        truncated.close()
        // One that asks for a long reply and leaves before reading it.
        for _ in 0..<20 {
            let leaver = try LoopbackUnixStream(path: path)
            leaver.send([0xA1, 0x03, 0x0b, 0, 0, 0, 2, 0x91, 0x09] + Array("core.psx".utf8) + [0])
            leaver.close()
        }
        // Everyone else is still answered, while the silent client stays connected.
        for _ in 0..<5 { #expect(try kamcmd("core.uptime").stdout.contains("uptime: ")) }
        #expect(server.log.contains("not a binrpc packet"), "\(server.log)")
        #expect(server.log.contains("over the 16384-byte limit"))
        silent.close()
        #expect(server.isRunning)
    }
}
