import Foundation
import SIP
import TestSupport
import Testing

/// auth and auth_db against Kamailio 5.6.3 on the same config and the same SQLite file
/// (made from Kamailio's schema files): what a UA sees on the wire (codes, challenge
/// headers with the nonce value blanked) and the script's return codes must be the same.
@Suite(.serialized) struct AuthTests {
    static let config = """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT
        mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "textops.so"
        loadmodule "DBMODULE"
        loadmodule "auth.so"
        loadmodule "auth_db.so"
        modparam("auth_db", "db_url", "DBURL")
        modparam("auth_db", "calculate_ha1", yes)
        modparam("auth_db", "password_column", "password")
        modparam("auth_db", "load_credentials", "$avp(dom)=domain;ha1")
        modparam("auth", "nonce_expire", 2)
        modparam("auth", "nonce_count", 1)
        modparam("auth", "qop", "auth")
        request_route {
            if (is_method("REGISTER")) {
                $var(r) = auth_check("$fd", "subscriber", "1");
                if ($var(r) < 0) {
                    xlog("L_INFO", "AUTH check=$var(r) au=$au ar=$ar ad=$ad\\n");
                    if ($hdr(X-Flags) == "1") { auth_challenge("$fd", "1"); exit; }
                    if ($hdr(X-Flags) == "17") { auth_challenge("$fd", "17"); exit; }
                    auth_challenge("$fd", "0");
                    exit;
                }
                xlog("L_INFO", "AUTH ok au=$au ar=$ar ad=$ad dom=$avp(dom) ha1=$avp(ha1)\\n");
                sl_send_reply("200", "OK");
                exit;
            }
            if (is_method("INVITE")) {
                $var(r) = proxy_authorize("$fd", "subscriber");
                if ($var(r) < 0) {
                    xlog("L_INFO", "AUTH proxy=$var(r)\\n");
                    proxy_challenge("$fd", "1");
                    exit;
                }
                consume_credentials();
                xlog("L_INFO", "AUTH proxy ok au=$au\\n");
                if ($hdr(X-Next) != $null) { $du = $hdr(X-Next); t_relay(); exit; }
                sl_send_reply("200", "OK");
                exit;
            }
            if (has_credentials("127.0.0.1")) { sl_send_reply("200", "Has Credentials"); exit; }
            sl_send_reply("404", "No Credentials");
        }
        """

    /// A scratch SQLite file made from Kamailio's schema files, with three subscribers
    /// (one whose name holds a quote and a semicolon).
    static func subscriberFile() throws -> (dir: URL, path: String) {
        let dir = try Spawn.scratchDirectory("auth-sqlite")
        let path = dir.appendingPathComponent("kamailio.db").path
        for file in ["standard-create.sql", "auth_db-create.sql"] {
            let r = try Spawn.run("/bin/sh", ["-c", "sqlite3 '\(path)' < /usr/share/kamailio/db_sqlite/\(file)"])
            guard r.termination == .exited(0) else { throw Spawn.Failure("sqlite3 \(file): \(r.stderr)") }
        }
        let r = try Spawn.run("/usr/bin/sqlite3", [path, Self.subscribers])
        guard r.termination == .exited(0) else { throw Spawn.Failure("sqlite3 insert: \(r.stderr)") }
        return (dir, path)
    }

    static let subscribers = """
        INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('alice', '127.0.0.1', 'secret1', 'x', 'y');
        INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('bob', '127.0.0.1', 'bobpw', '', '');
        INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('o''ne;two', '127.0.0.1', 'pw2', '', '');
        """

    /// The script's AUTH lines, from the word on.
    static func authLines(_ log: String) -> [String] {
        log.split(separator: "\n").compactMap { line in
            line.range(of: "AUTH ").map { String(line[$0.upperBound...]) }
        }
    }

    /// REGISTER and INVITE exchanges covering every outcome the wire shows; each step is
    /// one line: what it was, the reply's code and challenge shape.
    static func play(port: UInt16, log: () -> String) throws -> [String] {
        let ua = AuthDigestClient(sip: try SIPTestClient(server: port))
        var out: [String] = []
        func step(_ name: String, _ text: String) -> SIPMessage? {
            let reply = ua.sip.exchange(text)
            out.append("\(name): \(AuthDigestClient.describe(reply))")
            return reply
        }
        let uri = ua.uri("alice")
        // Challenged, then answered without qop (flags 0: the stock config's challenge).
        guard let first = step("register", ua.request("REGISTER", user: "alice")),
            let plain = AuthDigestClient.challenge(of: first)
        else { return out }
        let ok = AuthDigestClient.credentials(
            user: "alice", password: "secret1", challenge: plain, method: "REGISTER", uri: uri)
        _ = step("answered", ua.request("REGISTER", user: "alice", extra: [ok]))
        let wrong = AuthDigestClient.credentials(
            user: "alice", password: "wrong", challenge: plain, method: "REGISTER", uri: uri)
        _ = step("wrong password", ua.request("REGISTER", user: "alice", extra: [wrong]))
        let nobody = AuthDigestClient.credentials(
            user: "nobody", password: "x", challenge: plain, method: "REGISTER", uri: ua.uri("nobody"))
        _ = step("unknown user", ua.request("REGISTER", user: "nobody", extra: [nobody]))
        let bob = AuthDigestClient.credentials(
            user: "bob", password: "bobpw", challenge: plain, method: "REGISTER", uri: uri)
        _ = step("bob for alice", ua.request("REGISTER", user: "alice", extra: [bob]))
        let quoted = AuthDigestClient.credentials(
            user: "o'ne;two", password: "pw2", challenge: plain, method: "REGISTER", uri: ua.uri("o'ne;two"))
        _ = step("quote and semicolon", ua.request("REGISTER", user: "o'ne;two", extra: [quoted]))
        _ = step("malformed", ua.request("REGISTER", user: "alice", extra: ["Authorization: Digest bogus"]))
        var forged = plain
        forged.params["nonce"] = String(plain.nonce.dropLast(4)) + "AAA="
        let tampered = AuthDigestClient.credentials(
            user: "alice", password: "secret1", challenge: forged, method: "REGISTER", uri: uri)
        _ = step("tampered nonce", ua.request("REGISTER", user: "alice", extra: [tampered]))

        // qop=auth and nonce counts: each nc once, upwards.
        guard let second = step("qop challenge", ua.request("REGISTER", user: "alice", extra: ["X-Flags: 1"])),
            let withQop = AuthDigestClient.challenge(of: second)
        else { return out }
        for (name, nc) in [
            ("nc 1", 1), ("nc 2", 2), ("nc 2 again", 2), ("nc 1 again", 1), ("nc 5", 5), ("nc 256", 256),
        ] {
            let c = AuthDigestClient.credentials(
                user: "alice", password: "secret1", challenge: withQop, method: "REGISTER", uri: uri, nc: nc)
            _ = step(name, ua.request("REGISTER", user: "alice", extra: [c, "X-Flags: 1"]))
        }
        _ = step("stale flag", ua.request("REGISTER", user: "alice", extra: ["X-Flags: 17"]))

        // INVITE: 407, answered, the credentials consumed; another request has them.
        guard let invite = step("invite", ua.request("INVITE", user: "alice")),
            let proxy = AuthDigestClient.challenge(of: invite)
        else { return out }
        let p = AuthDigestClient.credentials(
            "Proxy-Authorization", user: "alice", password: "secret1", challenge: proxy,
            method: "INVITE", uri: uri, nc: 1)
        _ = step("invite answered", ua.request("INVITE", user: "alice", extra: [p]))
        // Relayed after consume_credentials: the callee sees no credentials.
        let callee = try SIPTestClient(server: port)
        let p2 = AuthDigestClient.credentials(
            "Proxy-Authorization", user: "alice", password: "secret1", challenge: proxy,
            method: "INVITE", uri: uri, nc: 2)
        ua.sip.send(ua.request("INVITE", user: "alice", extra: [p2, "X-Next: sip:127.0.0.1:\(callee.port)"]))
        if let relayed = SerialForkingTests.next("INVITE", at: callee, timeout: 3) {
            out.append(
                "callee: INVITE, Proxy-Authorization \(relayed.headerValue("Proxy-Authorization") == nil ? "consumed" : "still there")"
            )
            callee.send(SIPTestClient.reply(to: relayed.bytes, "486 Busy Here"))
        } else {
            out.append("callee: no INVITE")
        }
        _ = step("has credentials", ua.request("OPTIONS", user: "alice", extra: [p]))
        let other = AuthDigestClient.credentials(
            "Proxy-Authorization", user: "alice", password: "secret1", challenge: proxy,
            method: "OPTIONS", uri: uri, realm: "other.example")
        _ = step("other realm", ua.request("OPTIONS", user: "alice", extra: [other]))

        // The nonce expires (nonce_expire 2): -4 and a new challenge.
        Thread.sleep(forTimeInterval: 3.2)
        let late = AuthDigestClient.credentials(
            user: "alice", password: "secret1", challenge: withQop, method: "REGISTER", uri: uri, nc: 9)
        _ = step("expired", ua.request("REGISTER", user: "alice", extra: [late, "X-Flags: 1"]))
        _ = waitUntil(timeout: 2) { authLines(log()).count >= 23 }
        return out + authLines(log())
    }

    @Test func digestExchangesAsKamailio() throws {
        let db = try Self.subscriberFile()
        defer { try? FileManager.default.removeItem(at: db.dir) }
        let config = Self.config.replacingOccurrences(of: "DBMODULE", with: "db_sqlite.so")
            .replacingOccurrences(of: "DBURL", with: "sqlite:///" + db.path)
        let (k, r) = try KamailioServer.playBoth(config: config) { port, log in try Self.play(port: port, log: log) }
        #expect(k.count > 25, "Kamailio:\n\(k.joined(separator: "\n"))")
        #expect(k.contains("callee: INVITE, Proxy-Authorization consumed"))
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }

    /// The start-up check: a subscriber table of another version stops the master with one
    /// line; a table name that is not an identifier is refused when the config loads.
    @Test func subscriberVersionAndTableNamesAreCheckedBeforeStart() throws {
        let db = try Self.subscriberFile()
        defer { try? FileManager.default.removeItem(at: db.dir) }
        _ = try Spawn.run(
            "/usr/bin/sqlite3", [db.path, "UPDATE version SET table_version = 6 WHERE table_name = 'subscriber'"])
        let config = Self.config.replacingOccurrences(of: "DBMODULE", with: "db_sqlite.so")
            .replacingOccurrences(of: "DBURL", with: "sqlite:///" + db.path)
        do {
            let server = try ServerProcess(config: config, readiness: .processesStarted, timeout: 5)
            _ = server.stop()
            Issue.record("started with subscriber at version 6:\n\(server.log)")
        } catch let failure as ServerFailed {
            #expect(
                failure.log.contains(
                    "auth_db: sqlite:///\(db.path): table 'subscriber' has version 6, Respite reads version 7"),
                "\(failure.log)")
        }
        let bad = config.replacingOccurrences(
            of: "proxy_authorize(\"$fd\", \"subscriber\")", with: "proxy_authorize(\"$fd\", \"sub;scriber\")")
        let check = try Products.run("respite", ["-c", "-f", try Self.write(bad)])
        #expect(check.stderr.contains("'sub;scriber' is not a table name"), "\(check.stderr)\(check.stdout)")
    }

    static func write(_ config: String) throws -> String {
        let dir = try Spawn.scratchDirectory("auth-cfg")
        let path = dir.appendingPathComponent("bad.cfg").path
        try config.replacingOccurrences(of: "PORT", with: "5060").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// auth_check's flag 1 with use_domain: From and To must be one URI for REGISTER (user
    /// and host), the username's @domain must be the From host; the realm is not compared.
    @Test func userChecksWithUseDomainAsKamailio() throws {
        let db = try Self.subscriberFile()
        defer { try? FileManager.default.removeItem(at: db.dir) }
        let config = Self.config.replacingOccurrences(of: "DBMODULE", with: "db_sqlite.so")
            .replacingOccurrences(of: "DBURL", with: "sqlite:///" + db.path)
            .replacingOccurrences(
                of: "auth_check(\"$fd\", \"subscriber\", \"1\")",
                with: "auth_check(\"127.0.0.1\", \"subscriber\", \"1\")"
            )
            .replacingOccurrences(
                of: "modparam(\"auth\", \"qop\", \"auth\")", with: "modparam(\"auth_db\", \"use_domain\", 1)")
        let (k, r) = try KamailioServer.playBoth(config: config) { port, log -> [String] in
            let ua = AuthDigestClient(sip: try SIPTestClient(server: port))
            guard let first = ua.sip.exchange(ua.request("REGISTER", user: "alice")),
                let c = AuthDigestClient.challenge(of: first)
            else { return ["no challenge"] }
            let uri = ua.uri("alice")
            var out: [String] = []
            for (name, from, to, username) in [
                ("other host in From and To", "example.org", "example.org", "alice"),
                ("other host in To", "127.0.0.1", "example.org", "alice"),
                ("same hosts", "127.0.0.1", "127.0.0.1", "alice"),
                ("username with the From host", "127.0.0.1", "127.0.0.1", "alice@127.0.0.1"),
                ("username with another host", "127.0.0.1", "127.0.0.1", "alice@example.org"),
            ] {
                let creds = AuthDigestClient.credentials(
                    user: username, password: "secret1", challenge: c, method: "REGISTER", uri: uri, realm: "127.0.0.1")
                let text = ua.request("REGISTER", user: "alice", extra: [creds])
                    .replacingOccurrences(of: "From: <sip:alice@127.0.0.1>", with: "From: <sip:alice@\(from)>")
                    .replacingOccurrences(of: "To: <sip:alice@127.0.0.1>", with: "To: <sip:alice@\(to)>")
                out.append("\(name): \(ua.sip.exchange(text).map { "\($0.statusCode)" } ?? "no reply")")
            }
            _ = waitUntil(timeout: 2) { Self.authLines(log()).count >= 6 }
            return out + Self.authLines(log())
        }
        #expect(k.contains("other host in To: 401") && k.contains("same hosts: 200"), "\(k)")
        #expect(r == k, "Kamailio:\n\(k.joined(separator: "\n"))\nRespite:\n\(r.joined(separator: "\n"))")
    }
}
