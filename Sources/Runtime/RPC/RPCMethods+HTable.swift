import Database
import CShared
import Shared

/// `htable.*`: the shared hash tables, as Kamailio's htable module answers.
extension RPCMethods {
    static var htable: [RPCMethod] {
        [
            RPCMethod("htable.dump", help: "Dumps the content of a hash table: htable.dump NAME.", returnsArray: true) { call throws(RPCFault) in
                let table = try hashTable(call)
                // Kamailio lists by slot: one structure per non-empty bucket.
                var slots: [Int: [HashTableRef.Item]] = [:]
                for item in table.items() { slots[bucket(of: item.key, in: table), default: []].append(item) }
                return slots.keys.sorted().map { entry in
                    var s = RPCStruct()
                    s.add("entry", entry)
                    s.add("size", slots[entry]!.count)
                    s.add("slot", .array(slots[entry]!.map { item in
                        var i = RPCStruct()
                        i.add("name", item.key)
                        i.add("value", rpcValue(item.value))
                        i.add("type", typeName(item.value))
                        return i.value
                    }))
                    return s.value
                }
            },
            RPCMethod("htable.get", help: "Gets one item: htable.get NAME KEY.") { call throws(RPCFault) in
                let table = try hashTable(call)
                let key = try call.string(1, "key")
                let value = table.get(key)
                if case .null = value { throw RPCFault(500, "Key name doesn't exist in htable.") }
                var item = RPCStruct()
                item.add("name", key)
                item.add("value", rpcValue(value))
                item.add("flags", value.isInt ? 1 : 2)
                item.add("expire", table.expiryMilliseconds(of: key).flatMap { $0 == 0 ? nil : RPCValue.int(Int($0 / 1000)) } ?? .string("NEVER"))
                var s = RPCStruct()
                s.add("item", item.value)
                return [s.value]
            },
            RPCMethod("htable.sets", help: "Sets a string item: htable.sets NAME KEY VALUE.") { call throws(RPCFault) in
                try store(call, .string(try call.string(2, "value")))
            },
            RPCMethod("htable.seti", help: "Sets an integer item: htable.seti NAME KEY VALUE.") { call throws(RPCFault) in
                try store(call, .int(try call.int(2, "value")))
            },
            RPCMethod("htable.delete", help: "Deletes an item: htable.delete NAME KEY.") { call throws(RPCFault) in
                let table = try hashTable(call)
                guard table.remove(try call.string(1, "key")) else { throw RPCFault(500, "Key name doesn't exist in htable.") }
                return [.string("Ok. Key deleted.")]
            },
            RPCMethod("htable.flush", help: "Removes every item of a table: htable.flush NAME.") { call throws(RPCFault) in
                _ = try hashTable(call).reset()
                return []
            },
            RPCMethod("htable.reload", help: "Reloads a table from its database: htable.reload NAME.") { call throws(RPCFault) in
                let (table, spec, db, connection) = try databaseTable(call)
                // The rows are read before the table is emptied: a database that does not
                // answer leaves the items as they were.
                if case .failure(let e) = db.load(spec, into: table, connection, replace: true) {
                    throw RPCFault(500, "Reload failed: \(e.message)")
                }
                return []
            },
            RPCMethod("htable.store", help: "Writes a table to its database: htable.store NAME.") { call throws(RPCFault) in
                let (table, spec, db, connection) = try databaseTable(call)
                if case .failure(let e) = db.store(spec, from: table, connection) { throw RPCFault(500, "Store failed: \(e.message)") }
                return []
            },
            RPCMethod("htable.listTables", help: "Lists the hash tables.", returnsArray: true) { call throws(RPCFault) in
                let specs = HTableDatabase(call.process.program.settings)?.specs ?? []
                return (call.process.tables?.hashTables.tables ?? []).map { t in
                    let spec = specs.first { $0.name == t.name }
                    var s = RPCStruct()
                    s.add("name", t.name)
                    s.add("dbtable", spec?.dbTable ?? "")
                    s.add("dbmode", spec?.dbMode ?? 0)
                    s.add("expire", t.autoexpireSeconds)
                    s.add("updateexpire", 1)
                    s.add("size", t.bucketCount)
                    s.add("items", t.count)
                    return s.value
                }
            },
        ]
    }

    /// The table named by the first argument, with its `dbtable` and this process's
    /// connection to htable's `db_url`.
    private static func databaseTable(_ call: RPCCall) throws(RPCFault)
        -> (HashTableRef, HashTableSpec, HTableDatabase, DatabaseConnection)
    {
        let table = try hashTable(call)
        guard let db = HTableDatabase(call.process.program.settings) else { throw RPCFault(500, "No htable db_url") }
        guard let spec = db.specs.first(where: { $0.name == table.name }) else { throw RPCFault(500, "The htable has no dbtable") }
        guard let connection = call.process.databases.connection(db.url) else { throw RPCFault(500, "No database connection") }
        return (table, spec, db, connection)
    }

    private static func hashTable(_ call: RPCCall) throws(RPCFault) -> HashTableRef {
        let name = try call.string(0, "table name")
        guard let table = call.process.tables?.hashTables.table(named: name) else { throw RPCFault(500, "No such htable") }
        return table
    }

    private static func store(_ call: RPCCall, _ value: SharedValue) throws(RPCFault) -> [RPCValue] {
        let table = try hashTable(call)
        guard table.set(try call.string(1, "key"), value) else { throw RPCFault(500, "Unable to store the value (the arena is full)") }
        return [.string("Ok. Key set to new value.")]
    }

    private static func rpcValue(_ v: SharedValue) -> RPCValue {
        switch v {
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        case .null: return .string("")
        }
    }

    private static func typeName(_ v: SharedValue) -> String { v.isInt ? "int" : "str" }

    /// The bucket a key is in (what Kamailio's dump calls the entry): the table's own hash.
    private static func bucket(of key: String, in table: HashTableRef) -> Int {
        var k = key
        let h = k.withUTF8 { $0.withMemoryRebound(to: CChar.self) { cs_htable_hash($0.baseAddress, $0.count) } }
        return Int(h) & (table.bucketCount - 1)
    }
}

extension SharedValue {
    var isInt: Bool { if case .int = self { return true }; return false }
}
