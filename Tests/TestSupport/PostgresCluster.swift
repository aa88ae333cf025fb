import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throw-away PostgreSQL cluster for one test suite: `initdb` in a scratch folder, the
/// server on a free 127.0.0.1 port (its Unix socket in the same folder), a database
/// `respite` owned by user `respite` with password `respite`. `stop()` and `start()` take
/// the server down and up again in place (the database survives); `remove()` stops it and
/// deletes the folder. Debian's `postgresql` package provides the binaries (`make test`
/// installs it). Run as root, every PostgreSQL program runs as the `postgres` user.
public final class PostgresCluster {
    public let port: UInt16
    public let directory: URL
    public let database = "respite"
    public let user = "respite"
    public let password = "respite"
    private let bin: String
    private var server: ChildProcess?

    /// `postgres://respite:respite@127.0.0.1:PORT/respite`
    public var url: String { "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)" }
    private var dataDirectory: String { directory.appendingPathComponent("data").path }

    public init() throws {
        guard let bin = Self.binaries() else {
            throw Spawn.Failure("PostgreSQL's server binaries are missing (apt-get install postgresql; `make test` does)")
        }
        self.bin = bin
        directory = try Spawn.scratchDirectory("postgres")
        port = try FreePort.server()
        if getuid() == 0, let pw = getpwnam("postgres") {
            chown(directory.path, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        let passwordFile = directory.appendingPathComponent("pwfile")
        try "\(password)\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        if getuid() == 0, let pw = getpwnam("postgres") { chown(passwordFile.path, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        let initdb = try Spawn.run(
            "/usr/bin/env", asPostgres([bin + "/initdb", "-D", dataDirectory, "-U", user, "--pwfile=" + passwordFile.path,
                                        "-A", "md5", "-E", "UTF8", "--locale=C", "--no-sync"]),
            timeout: 120)
        guard initdb.status == 0 else {
            remove()
            throw Spawn.Failure("initdb failed: \(initdb.output)")
        }
        try start()
        let created = try Spawn.run(
            "/usr/bin/env", ["PGPASSWORD=\(password)", bin + "/createdb", "-h", "127.0.0.1", "-p", String(port), "-U", user, database])
        guard created.status == 0 else {
            remove()
            throw Spawn.Failure("createdb failed: \(created.output)")
        }
    }

    deinit { remove() }

    /// Starts the server (again) and waits until it accepts connections.
    public func start() throws {
        guard server == nil else { return }
        let log = directory.appendingPathComponent("server.log").path
        server = try Spawn.start(
            "/usr/bin/env",
            asPostgres([bin + "/postgres", "-D", dataDirectory, "-h", "127.0.0.1", "-p", String(port), "-k", directory.path,
                        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                        "-c", "max_connections=200", "-c", "shared_buffers=32MB"]),
            stdoutPath: log, stderrPath: log)
        let ready = waitUntil(timeout: 30, interval: 0.1) { [self] in
            guard server?.isRunning == true else { return true }
            let r = try? Spawn.run(bin + "/pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-t", "1"], timeout: 5)
            return r?.status == 0
        }
        guard ready, server?.isRunning == true else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            stop()
            throw Spawn.Failure("PostgreSQL did not start on port \(port): \(text)")
        }
    }

    /// Stops the server now (fast shutdown: open connections are closed).
    public func stop() {
        guard let server else { return }
        server.signalGroup(SIGINT)
        if server.waitUntilExit(timeout: 20) == nil { _ = server.stop(timeout: 1) }
        self.server = nil
    }

    /// Stops the server and deletes the cluster.
    public func remove() {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs SQL with psql; returns its output (unaligned, tuples only), or throws with
    /// psql's error.
    @discardableResult
    public func psql(_ sql: String) throws -> String {
        let r = try Spawn.run(
            "/usr/bin/env",
            ["PGPASSWORD=\(password)", bin + "/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", String(port), "-U", user, "-d", database, "-c", sql])
        guard r.status == 0 else { throw Spawn.Failure("psql failed: \(r.stderr)") }
        return r.stdout
    }

    /// Runs a file of SQL (a schema file) with psql.
    public func psql(file: String) throws {
        let r = try Spawn.run(
            "/usr/bin/env",
            ["PGPASSWORD=\(password)", bin + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", String(port), "-U", user, "-d", database, "-f", file])
        guard r.status == 0 else { throw Spawn.Failure("psql -f \(file) failed: \(r.stderr)") }
    }

    /// As root, PostgreSQL refuses to run: the command runs as `postgres` (setpriv execs
    /// in place, so the process group and signals stay the server's).
    private func asPostgres(_ command: [String]) -> [String] {
        guard getuid() == 0 else { return command }
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + command
    }

    /// The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/N/bin).
    static func binaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        for v in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") {
            return "\(root)/\(v)/bin"
        }
        return nil
    }
}
