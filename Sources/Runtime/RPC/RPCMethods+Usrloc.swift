import Shared

/// `ul.*`: usrloc's location table, with Kamailio 5.6.3's shapes: one domain, the
/// in-memory table (db_mode 0-2) or, in db_mode 3, the database table named (read and
/// written directly, through the RPC process's own connection).
extension RPCMethods {
    static var usrloc: [RPCMethod] {
        [
            RPCMethod("ul.dump", help: "Dumps the location table: ul.dump [brief].") { call throws(RPCFault) in
                let (store, domainName) = try locationStore(call)
                let table = store.table
                let brief = try call.optionalString(0, "mode") == "brief"
                let now = LocationTable.now
                var aors: [String] = []
                var byAOR: [String: [LocationTable.Contact]] = [:]
                guard let all = store.allContacts() else { throw RPCFault(500, "Database error") }
                for c in all where !c.isExpired(now: now) {
                    if byAOR[c.aor] == nil { aors.append(c.aor) }
                    byAOR[c.aor, default: []].append(c)
                }
                var list = RPCStruct()
                for aor in aors {
                    if brief {
                        list.add("AoR", aor)
                        continue
                    }
                    var info = RPCStruct()
                    info.add("AoR", aor)
                    info.add("HashID", Int(HashHelpers.fnv1a(aor)))
                    info.add("Contacts", contacts(byAOR[aor]!, now: now))
                    list.add("Info", info.value)
                }
                var stats = RPCStruct()
                stats.add("Records", aors.count)
                stats.add("Max-Slots", maxSlot(aors, table))
                var domain = RPCStruct()
                domain.add("Domain", domainName)
                domain.add("Size", table.bucketCount)
                domain.add("AoRs", list.value)
                domain.add("Stats", stats.value)
                var d = RPCStruct()
                d.add("Domain", domain.value)
                var top = RPCStruct()
                top.add("Domains", d.value)
                return [top.value]
            },
            RPCMethod("ul.lookup", help: "Lists the contacts of an AOR: ul.lookup TABLE AOR.") { call throws(RPCFault) in
                let (store, _) = try locationStore(call, named: try call.string(0, "table"))
                let aor = try call.string(1, "AOR")
                let now = LocationTable.now
                guard let all = store.contacts(of: aor) else { throw RPCFault(500, "Database error") }
                let found = all.filter { !$0.isExpired(now: now) }
                guard !found.isEmpty else { throw RPCFault(500, "AOR not found in location table") }
                var s = RPCStruct()
                s.add("AoR", aor)
                s.add("Contacts", contacts(found, now: now))
                return [s.value]
            },
            RPCMethod("ul.rm", help: "Removes an AOR, or one of its contacts: ul.rm TABLE AOR [CONTACT].") { call throws(RPCFault) in
                let (store, _) = try locationStore(call, named: try call.string(0, "table"))
                let aor = try call.string(1, "AOR")
                if let contact = try call.optionalString(2, "contact") {
                    guard let all = store.contacts(of: aor) else { throw RPCFault(500, "Database error") }
                    guard let c = all.first(where: { $0.uri == contact }), store.remove(c) else {
                        throw RPCFault(404, "Contact not found")
                    }
                } else {
                    guard store.remove(aor: aor) != nil else { throw RPCFault(500, "Database error") }
                }
                return []
            },
        ]
    }

    /// The store of table `name` (default: the in-memory domain's) and the domain's name.
    private static func locationStore(_ call: RPCCall, named name: String? = nil) throws(RPCFault) -> (LocationStore, String) {
        guard call.process.arena.locationTable != nil else { throw RPCFault(500, "usrloc is not loaded") }
        let ul = UsrlocSettings.of(call.process.program.settings)
        let name = name ?? ul.memoryTable
        let known = ul.dbMode == 3 ? LocationDatabase.isIdentifier(name) : name == ul.memoryTable
        guard known else { throw RPCFault(500, "Table not found") }
        guard let store = LocationStore(process: call.process, tableName: name) else { throw RPCFault(500, "Database error") }
        return (store, name)
    }

    /// The most AORs in one bucket (Kamailio's Max-Slots).
    private static func maxSlot(_ aors: [String], _ table: LocationTable) -> Int {
        var counts: [Int: Int] = [:]
        for a in aors { counts[Int(HashHelpers.fnv1a(a)) & (table.bucketCount - 1), default: 0] += 1 }
        return counts.values.max() ?? 0
    }

    private static func contacts(_ list: [LocationTable.Contact], now: Int) -> RPCValue {
        var s = RPCStruct()
        for c in list {
            var e = RPCStruct()
            e.add("Address", c.uri)
            if c.expires == 0 { e.add("Expires", "permanent") } else { e.add("Expires", c.remaining(now: now)) }
            if c.q < 0 { e.add("Q", -1) } else { e.add("Q", .double(Double(c.q) / 1000)) }
            e.add("Call-ID", c.callID)
            e.add("CSeq", c.cseq)
            e.add("User-Agent", c.userAgent)
            e.add("Received", c.received.isEmpty ? "[not set]" : c.received)
            e.add("Path", c.path.isEmpty ? "[not set]" : c.path)
            e.add("State", "CS_NEW")
            e.add("Flags", Int(c.flags))
            e.add("CFlags", Int(c.cflags))
            e.add("Socket", c.socket.isEmpty ? "[not set]" : c.socket)
            e.add("Methods", c.methods.map { Int($0) } ?? -1)
            e.add("Ruid", c.ruid)
            e.add("Instance", c.instance.isEmpty ? "[not set]" : c.instance)
            e.add("Reg-Id", c.regID)
            e.add("Server-Id", 0)
            e.add("Tcpconn-Id", -1)
            e.add("Keepalive", 0)
            e.add("Last-Keepalive", c.lastModified)
            e.add("KA-Roundtrip", 0)
            e.add("Last-Modified", c.lastModified)
            s.add("Contact", e.value)
        }
        return s.value
    }
}
