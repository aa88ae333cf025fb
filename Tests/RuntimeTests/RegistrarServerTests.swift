import Foundation
import SIP
import TestSupport
import Testing

private let registrarConfig = """
#!KAMAILIO
debug=2
log_stderror=yes
listen=udp:127.0.0.1:PORT
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "ctl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("ctl", "binrpc", "unix:SOCKET")
modparam("usrloc", "timer_interval", 1)
modparam("usrloc", "timer_procs", 1)
modparam("usrloc", "contacts_max", 6)
modparam("registrar", "min_expires", 2)
modparam("registrar", "min_expires_mode", 1)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "method_filtering", 1)
modparam("registrar", "use_path", 1)
modparam("registrar", "path_mode", 0)
request_route {
    if (is_method("REGISTER")) {
        if ($rU == "stateful") { t_newtran(); }
        save("location");
        exit;
    }
    if ($rU == "isreg") {
        if (registered("location", "sip:" + $hdr(X-User) + "@127.0.0.1")) { sl_send_reply("200", "Registered"); }
        else { sl_send_reply("404", "Not Registered"); }
        exit;
    }
    if ($rU == "fetch") {
        reg_fetch_contacts("location", "sip:" + $hdr(X-User) + "@127.0.0.1", "p");
        $var(i) = 0;
        $var(all) = "";
        while ($var(i) < $ulc(p=>count)) {
            $var(all) = $var(all) + $(ulc(p=>addr)[$var(i)]) + ";";
            $var(i) = $var(i) + 1;
        }
        sl_send_reply("200", "n=$ulc(p=>count) addr=$ulc(p=>addr) second=$(ulc(p=>addr)[1]) q=$(ulc(p=>q)[0]) all=$var(all)");
        exit;
    }
    if (!lookup("location")) {
        $var(rc) = $rc;
        switch ($var(rc)) {
            case -1:
            case -3:
                sl_send_reply("404", "Not Found");
                exit;
            case -2:
                sl_send_reply("405", "Method Not Allowed");
                exit;
        }
    }
    t_relay();
}
"""

/// registrar and usrloc end to end over UDP; expected replies are Kamailio 5.6.3's for the
/// same REGISTERs (observed on loopback, Server header aside).
@Suite(.serialized) struct RegistrarServerTests {
    let directory: URL
    let socket: String
    let server: ServerProcess

    init() throws {
        directory = try Spawn.scratchDirectory("registrar")
        socket = directory.appendingPathComponent("ctl").path
        server = try ServerProcess(config: registrarConfig.replacingOccurrences(of: "SOCKET", with: socket),
                                   readiness: .processesStarted)
    }

    func register(_ client: SIPTestClient, _ user: String, contact: String?, expires: Int?, callID: String? = nil,
                  cseq: Int = 1, extra: [String] = []) -> SIPMessage? {
        var headers = extra
        headers.append(contact.map { "Contact: \($0)" } ?? "X-No-Contact: 1")
        if let expires { headers.append("Expires: \(expires)") }
        var text = client.request("REGISTER", user: user, headers: headers, callID: callID, cseq: cseq)
        if contact == nil { text = text.replacingOccurrences(of: "Contact: <sip:tester@127.0.0.1:\(client.port)>\r\n", with: "") }
        return client.exchange(text)
    }

    func contacts(_ m: SIPMessage?) -> String { m?.headerValue("Contact") ?? "" }

    @Test func registerQueryReRegisterAndRemove() throws {
        defer { server.stop(); try? FileManager.default.removeItem(at: directory) }
        let client = try SIPTestClient(server: server.port)
        let first = register(client, "alice", contact: "<sip:alice@127.0.0.1:6001>;q=0.5, <sip:alice@127.0.0.1:6002;transport=udp>;expires=120",
                             expires: 600, callID: "reg-a", cseq: 1)
        #expect(first?.statusCode == 200)
        #expect(contacts(first) == "<sip:alice@127.0.0.1:6001>;q=0.5;expires=600, <sip:alice@127.0.0.1:6002;transport=udp>;expires=120")
        #expect(first?.headerValue("Server") != nil)
        let query = register(client, "alice", contact: nil, expires: nil, callID: "reg-a", cseq: 2)
        #expect(query?.statusCode == 200 && contacts(query).contains("6001>;q=0.5;expires=") && contacts(query).contains("6002;transport=udp>;expires="))
        // The contact's own Call-ID and CSeq again, within cseq_delay: a retransmission, 200.
        // An older CSeq than the contact's: 400, bindings listed (Kamailio's answers).
        let again = register(client, "alice", contact: "<sip:alice@127.0.0.1:6001>", expires: 600, callID: "reg-a", cseq: 1)
        #expect(again?.statusCode == 200 && contacts(again).contains("6001>;q=0.5;expires="))
        let old = register(client, "alice", contact: "<sip:alice@127.0.0.1:6001>", expires: 600, callID: "reg-a", cseq: 0)
        #expect(old?.statusCode == 400 && old?.headerValue("P-Registrar-Error") == "Invalid CSeq number")
        #expect(contacts(old).contains("6001"))
        // Too brief: 423 with Min-Expires.
        let brief = register(client, "alice", contact: "<sip:alice@127.0.0.1:6003>", expires: 1)
        #expect(brief?.statusCode == 423 && brief?.reasonPhrase == "Interval Too Brief" && brief?.headerValue("Min-Expires") == "2")
        // Malformed Contact: 400.
        let bad = register(client, "dave", contact: "<sip:dave@127.0.0.1:6003", expires: 60)
        #expect(bad?.statusCode == 400 && bad?.headerValue("P-Registrar-Error") == "Contact parse error")
        // * with a non-zero Expires is refused; with Expires 0 it removes every binding.
        #expect(register(client, "alice", contact: "*", expires: 60)?.statusCode == 400)
        let star = register(client, "alice", contact: "*", expires: 0)
        #expect(star?.statusCode == 200 && star?.headerValue("Contact") == nil)
        #expect(client.exchange(client.request("MESSAGE", user: "alice"))?.statusCode == 404)
        // max_expires caps, default applies.
        #expect(contacts(register(client, "bob", contact: "<sip:bob@127.0.0.1:6003>", expires: 99999)) == "<sip:bob@127.0.0.1:6003>;expires=3600")
        let kam = try Spawn.run("/usr/sbin/kamcmd", ["-s", socket, "ul.lookup", "location", "bob"], timeout: 10)
        #expect(kam.stdout.contains("AoR: bob") && kam.stdout.contains("Address: sip:bob@127.0.0.1:6003"), "\(kam.stdout)\(kam.stderr)")
        #expect(kam.stdout.contains("User-Agent:") && kam.stdout.contains("Socket: udp:127.0.0.1:\(server.port)"))
        #expect(kam.stdout.contains("Ruid: uloc-"), "\(kam.stdout)")
        let dump = try Spawn.run("/usr/sbin/kamcmd", ["-s", socket, "ul.dump", "brief"], timeout: 10)
        #expect(dump.stdout.contains("AoR: bob") && dump.stdout.contains("Records: 1"), "\(dump.stdout)")
        _ = try Spawn.run("/usr/sbin/kamcmd", ["-s", socket, "ul.rm", "location", "bob"], timeout: 10)
        // With a transaction (t_newtran before save) the 200 goes through it, bindings listed;
        // a retransmission gets the same reply back from the transaction.
        let stateful = client.request("REGISTER", user: "stateful", headers: ["Contact: <sip:st@127.0.0.1:6010>", "Expires: 60"])
        let st = client.exchange(stateful)
        #expect(st?.statusCode == 200 && contacts(st) == "<sip:st@127.0.0.1:6010>;expires=60")
        #expect(contacts(client.exchange(stateful)) == "<sip:st@127.0.0.1:6010>;expires=60")
        #expect(client.exchange(client.request("MESSAGE", user: "isreg", headers: ["X-User: bob"]))?.statusCode == 404)
    }

    @Test func lookupRelaysToTheContactAndTheTimerExpiresIt() throws {
        defer { server.stop(); try? FileManager.default.removeItem(at: directory) }
        let client = try SIPTestClient(server: server.port)
        let phone = try LoopbackUDPSocket()
        let ok = register(client, "carol", contact: "<sip:carol@127.0.0.1:\(phone.port)>", expires: 3,
                          extra: ["Allow: INVITE, ACK, BYE, CANCEL"])
        #expect(ok?.statusCode == 200 && contacts(ok) == "<sip:carol@127.0.0.1:\(phone.port)>;expires=3")
        #expect(client.exchange(client.request("MESSAGE", user: "isreg", headers: ["X-User: carol"]))?.statusCode == 200)
        #expect(client.exchange(client.request("MESSAGE", user: "fetch", headers: ["X-User: carol"]))?.reasonPhrase
            == "n=1 addr=sip:carol@127.0.0.1:\(phone.port) second=<null> q=-1 all=sip:carol@127.0.0.1:\(phone.port);")
        #expect(register(client, "erin", contact: "<sip:erin@127.0.0.1:7001>, <sip:erin@127.0.0.1:7002>;q=0.7", expires: 60)?.statusCode == 200)
        #expect(client.exchange(client.request("MESSAGE", user: "fetch", headers: ["X-User: erin"]))?.reasonPhrase
            == "n=2 addr=sip:erin@127.0.0.1:7002 second=sip:erin@127.0.0.1:7001 q=700 all=sip:erin@127.0.0.1:7002;sip:erin@127.0.0.1:7001;",
            "a variable index ($(ulc(p=>addr)[$var(i)])) walks the contacts")
        // method_filtering: the phone allows no MESSAGE.
        #expect(client.exchange(client.request("MESSAGE", user: "carol"))?.statusCode == 405)

        client.send(client.request("INVITE", user: "carol", callID: "inv-carol"))
        let invite = try #require(phone.receive(timeout: 2))
        let parsed = try SIPMessage.parse(invite)
        #expect(parsed.requestURIString == "sip:carol@127.0.0.1:\(phone.port)")
        phone.send(SIPTestClient.reply(to: invite, "486 Busy Here"), to: server.port)
        var final = 0
        let deadline = Date().addingTimeInterval(3)
        while final == 0, Date() < deadline, let m = client.receive(timeout: 0.5) { if !m.isRequest, m.statusCode >= 200 { final = m.statusCode } }
        #expect(final == 486)

        let shown = try Spawn.run(Products.path("respite-shm"), ["--shm-name", server.shmName], timeout: 10)
        #expect(shown.stdout.contains("location table (usrloc)  contacts 3/6  AORs 2") && shown.stdout.contains("carol  sip:carol@127.0.0.1:\(phone.port)"),
                "\(shown.stdout)")
        // Expires 3 s, timer every 1 s: carol is gone within 5 s, removed by the USRLOC Timer;
        // erin's two contacts (60 s) stay.
        let gone = Date().addingTimeInterval(6)
        var after = ""
        while Date() < gone {
            Thread.sleep(forTimeInterval: 0.5)
            after = try Spawn.run(Products.path("respite-shm"), ["--shm-name", server.shmName], timeout: 10).stdout
            if after.contains("contacts 2/6") { break }
        }
        #expect(after.contains("contacts 2/6  AORs 1") && after.contains("removed by the timer 1"), "\(after)")
        #expect(client.exchange(client.request("INVITE", user: "carol"))?.statusCode == 404)
    }

    @Test func lookupSendsThroughTheSavedPath() throws {
        defer { server.stop(); try? FileManager.default.removeItem(at: directory) }
        let client = try SIPTestClient(server: server.port)
        let edge = try LoopbackUDPSocket()
        // The contact itself is unreachable (TEST-NET); the Path's first hop is the edge.
        let ok = register(client, "frank", contact: "<sip:frank@192.0.2.55:5060>", expires: 60,
                          extra: ["Path: <sip:127.0.0.1:\(edge.port);lr>"])
        #expect(ok?.statusCode == 200 && ok?.headerValue("Path") == nil, "path_mode 0 does not echo the Path")
        client.send(client.request("INVITE", user: "frank"))
        let invite = try SIPMessage.parse(try #require(edge.receive(timeout: 2)))
        #expect(invite.requestURIString == "sip:frank@192.0.2.55:5060")
        edge.send(SIPTestClient.reply(to: invite.bytes, "603 Decline"), to: server.port)
        var final = 0
        let deadline = Date().addingTimeInterval(3)
        while final == 0, Date() < deadline, let m = client.receive(timeout: 0.5) { if !m.isRequest, m.statusCode >= 200 { final = m.statusCode } }
        #expect(final == 603)
    }

    @Test func aFullTableAnswers500AndKeepsItsContacts() throws {
        defer { server.stop(); try? FileManager.default.removeItem(at: directory) }
        let client = try SIPTestClient(server: server.port)
        for i in 0..<6 {
            #expect(register(client, "u\(i)", contact: "<sip:u\(i)@127.0.0.1:7000>", expires: 60)?.statusCode == 200)
        }
        let full = register(client, "u9", contact: "<sip:u9@127.0.0.1:7000>", expires: 60)
        #expect(full?.statusCode == 500)
        for i in 0..<6 {
            #expect(client.exchange(client.request("MESSAGE", user: "isreg", headers: ["X-User: u\(i)"]))?.statusCode == 200)
        }
        // Re-registering an existing binding still works when full.
        #expect(register(client, "u0", contact: "<sip:u0@127.0.0.1:7000>", expires: 60)?.statusCode == 200)
        #expect(server.log.contains("the location table is full"))
    }
}

/// Load-time checks of usrloc and registrar (`respite -c`).
@Suite struct RegistrarConfigTests {
    func check(_ config: String) throws -> RunResult {
        let dir = try Spawn.scratchDirectory("registrar-cfg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("test.cfg")
        try config.write(to: file, atomically: true, encoding: .utf8)
        return try Spawn.run(Products.path("respite"), ["-c", "-f", file.path], timeout: 10)
    }

    @Test func databaseModesAreCheckedAtLoadWithClearMessages() throws {
        let head = "loadmodule \"db_sqlite.so\"\nloadmodule \"usrloc.so\"\nloadmodule \"registrar.so\"\n"
        let noURL = try check(head + "modparam(\"usrloc\", \"db_mode\", 2)\nrequest_route { save(\"location\"); }\n")
        #expect(noURL.termination != .exited(0))
        #expect((noURL.stdout + noURL.stderr).contains("db_mode 2 needs a database: set modparam(\"usrloc\", \"db_url\", ...)"))
        let four = try check(head + "modparam(\"usrloc\", \"db_mode\", 4)\nrequest_route { save(\"location\"); }\n")
        #expect((four.stdout + four.stderr).contains("db_mode 4 (load only) is not available in Respite"))
        let url = "modparam(\"usrloc\", \"db_url\", \"sqlite:////tmp/x.db\")\n"
        let otherTable = try check(head + url + "modparam(\"usrloc\", \"db_mode\", 1)\nrequest_route { save(\"loc2\"); }\n")
        #expect((otherTable.stdout + otherTable.stderr).contains("keeps one table in memory, 'location'"))
        let dynamic = try check("loadmodule \"pv.so\"\n" + head + url + "modparam(\"usrloc\", \"db_mode\", 3)\nrequest_route { save(\"$rU\"); }\n")
        #expect((dynamic.stdout + dynamic.stderr).contains("the table must be a literal table name"))
        let ok3 = try check(head + url + "modparam(\"usrloc\", \"db_mode\", 3)\nrequest_route { save(\"loc2\"); lookup(\"location\"); }\n")
        #expect(ok3.termination == .exited(0), "\(ok3.stderr)")
        let ok = try check("loadmodule \"usrloc.so\"\nloadmodule \"registrar.so\"\nmodparam(\"usrloc\", \"db_mode\", 0)\nrequest_route { save(\"location\"); }\n")
        #expect(ok.termination == .exited(0), "\(ok.stderr)")
    }

    @Test func registrarWithoutUsrlocIsRefused() throws {
        let r = try check("loadmodule \"registrar.so\"\nrequest_route { lookup(\"location\"); }\n")
        #expect((r.stdout + r.stderr).contains("registrar needs usrloc"))
    }
}
