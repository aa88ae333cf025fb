import Script
import Shared

/// htable: shared hash tables (`$sht(table=>key)`), with Kamailio's functions.
enum HTableModule {
    static var spec: ModuleSpec {
        ModuleSpec(name: "htable", params: [
            ModuleParamSpec("htable", .string) { value in
                do throws(SpecError) { _ = try HashTableSpec.parse(value.text) } catch { return error.message }
                return nil
            },
            // Loading from and writing back to a database (HTableDatabase.swift).
            ModuleParamSpec("db_url", .string, validate: DatabaseModules.validateURL),
            ModuleParamSpec("key_name_column", .string, default: .string("key_name"), validate: columnName),
            ModuleParamSpec("key_type_column", .string, default: .string("key_type"), validate: columnName),
            ModuleParamSpec("value_type_column", .string, default: .string("value_type"), validate: columnName),
            ModuleParamSpec("key_value_column", .string, default: .string("key_value"), validate: columnName),
            ModuleParamSpec("expires_column", .string, default: .string("expires"), validate: columnName),
            ModuleParamSpec("array_size_suffix", .string, default: .string("::size")),
            ModuleParamSpec("db_expires", .int, default: .int(0)),
            ModuleParamSpec("fetch_rows", .int, default: .int(100)),
        ], functions: [
            FunctionSpec("sht_rm", args: [.string, .string], fixup: checkTable) { ctx, args in
                guard let table = ctx.message.table(args.string(0, &ctx)) else { return -1 }
                return table.remove(args.string(1, &ctx)) ? 1 : -1
            },
            FunctionSpec("sht_reset", args: [.string], fixup: checkTable) { ctx, args in
                guard let table = ctx.message.table(args.string(0, &ctx)) else { return -1 }
                _ = table.reset()
                return 1
            },
            FunctionSpec("sht_lock", args: [.string], fixup: checkKeyTable) { ctx, args in
                guard let (table, key) = ctx.message.tableKey(args.string(0, &ctx)) else { return -1 }
                _ = table.lock(key)
                return 1
            },
            FunctionSpec("sht_unlock", args: [.string], fixup: checkKeyTable) { ctx, args in
                guard let (table, key) = ctx.message.tableKey(args.string(0, &ctx)) else { return -1 }
                table.unlock(key)
                return 1
            },
        ], variables: [
            VariableClassSpec("sht", nameRule: .required, validateName: checkName, get: { ctx, name in
                guard let (table, key) = ctx.message.tableKey(name.name ?? "") else { return .null }
                return table.get(key).scriptValue
            }, set: { ctx, name, value in
                guard let (table, key) = ctx.message.tableKey(name.name ?? "") else { return false }
                return table.set(key, SharedValue(value))
            }),
            VariableClassSpec("shtinc", nameRule: .required, validateName: checkName) { ctx, name in
                guard let (table, key) = ctx.message.tableKey(name.name ?? ""), let n = table.increment(key) else { return .null }
                return .int(n)
            },
            VariableClassSpec("shtdec", nameRule: .required, validateName: checkName) { ctx, name in
                guard let (table, key) = ctx.message.tableKey(name.name ?? ""), let n = table.increment(key, by: -1) else { return .null }
                return .int(n)
            },
            VariableClassSpec("shtex", nameRule: .required, validateName: checkName, get: { ctx, name in
                guard let (table, key) = ctx.message.tableKey(name.name ?? ""), let ms = table.expiryMilliseconds(of: key) else { return .null }
                return .int(Int(ms / 1000))
            }, set: { ctx, name, value in
                guard let (table, key) = ctx.message.tableKey(name.name ?? ""), let s = value.intValue else { return false }
                return table.setExpiry(key, seconds: s)
            }),
        ])
    }

    /// A column name from a `*_column` parameter: it goes into SQL text.
    static let columnName: @Sendable (ConfigValue) -> String? = { value in
        AccDatabase.isIdentifier(value.text) ? nil : "'\(value.text)' is not a column name (letters, digits, _)"
    }

    /// `table=>key`, checked for its shape; whether the table exists is checked when the
    /// functions' fixups run (they see the module parameters) and at run time.
    static let checkName: @Sendable (String) -> String? = { name in
        splitKey(name) == nil ? "expected table=>key, got '\(name)'" : nil
    }

    static func splitKey(_ name: String) -> (table: String, key: String)? {
        let (table, key) = PVModule.splitXavp(name)
        guard let key, !table.isEmpty else { return nil }
        return (table, key)
    }

    static func definedTables(_ settings: ConfigSettings) -> [String] {
        (settings.modparams["htable"]?["htable"] ?? []).compactMap { try? HashTableSpec.parse($0.text).name }
    }

    static let checkTable: @Sendable (inout FixupContext) -> Void = { fc in
        if let name = fc.staticString(0), !definedTables(fc.settings).contains(name) {
            fc.error("no hash table named '\(name)' (define it with modparam(\"htable\", \"htable\", ...))", argument: 0)
        }
    }

    static let checkKeyTable: @Sendable (inout FixupContext) -> Void = { fc in
        guard let text = fc.staticString(0) else { return }
        guard let (table, _) = splitKey(text) else {
            fc.error("expected \"table=>key\", got '\(text)'", argument: 0)
            return
        }
        if !definedTables(fc.settings).contains(table) {
            fc.error("no hash table named '\(table)'", argument: 0)
        }
    }
}

extension MessageContext {
    func table(_ name: String) -> HashTableRef? {
        guard let t = process.tables?.hashTables.table(named: name) else {
            process.log.error("htable", "no hash table named '\(name)'")
            return nil
        }
        return t
    }

    func tableKey(_ name: String) -> (HashTableRef, String)? {
        guard let (t, key) = HTableModule.splitKey(name), let table = table(t) else { return nil }
        return (table, key)
    }
}
