/// The tables Respite uses, defined as Kamailio 5.6's schema has them (same names,
/// columns, types, defaults, constraints, indexes and `version` rows), so that a database
/// `respite-db create` makes is one Kamailio accepts and the other way round. The versions
/// are `DatabaseTables.versions` (a test holds the two together).
public enum SchemaCatalog {
    public static let versionTable = SchemaTable(
        "version", version: 1,
        [SchemaColumn("id", .rowID), SchemaColumn("table_name", .varchar(32)), .int("table_version")],
        unique: [SchemaIndex("version_table_name_idx", ["table_name"])])

    /// auth_db's credentials.
    public static let subscriber = SchemaTable(
        "subscriber", version: 7,
        [SchemaColumn("id", .rowID), .string("username", 64), .string("domain", 64), .string("password", 64),
         .string("ha1", 128), .string("ha1b", 128)],
        unique: [SchemaIndex("subscriber_account_idx", ["username", "domain"])],
        indexes: [SchemaIndex("subscriber_username_idx", ["username"])])

    /// usrloc's contacts.
    public static let location = SchemaTable(
        "location", version: 9,
        [SchemaColumn("id", .rowID), .string("ruid", 64), .string("username", 64), .nullable("domain", 64),
         .string("contact", 512), .nullable("received", 128), .nullable("path", 512),
         SchemaColumn("expires", .timestamp, default: .text("2030-05-28 21:32:15")),
         SchemaColumn("q", .real, default: .number("1.0")), .string("callid", 255, "Default-Call-ID"),
         .int("cseq", 1), SchemaColumn("last_modified", .timestamp, default: .text("2000-01-01 00:00:01")),
         .int("flags"), .int("cflags"), .string("user_agent", 255), .nullable("socket", 64),
         SchemaColumn("methods", .integer, default: .null, notNull: false), .nullable("instance", 255),
         .int("reg_id"), .int("server_id"), .int("connection_id"), .int("keepalive"), .int("partition")],
        unique: [SchemaIndex("location_ruid_idx", ["ruid"])],
        indexes: [SchemaIndex("location_account_contact_idx", ["username", "domain", "contact"]),
                  SchemaIndex("location_expires_idx", ["expires"]),
                  SchemaIndex("location_tcpcon_idx", ["connection_id"]),
                  SchemaIndex("location_connection_idx", ["server_id", "connection_id"])])

    /// usrloc's contact attributes (xavp_contact).
    public static let locationAttrs = SchemaTable(
        "location_attrs", version: 1,
        [SchemaColumn("id", .rowID), .string("ruid", 64), .string("username", 64), .nullable("domain", 64),
         .string("aname", 64), .int("atype"), .string("avalue", 512),
         SchemaColumn("last_modified", .timestamp, default: .text("2000-01-01 00:00:01"))],
        indexes: [SchemaIndex("location_attrs_account_record_idx", ["username", "domain", "ruid"]),
                  SchemaIndex("location_attrs_last_modified_idx", ["last_modified"])])

    /// acc's records: the six fixed columns and the time; db_extra adds columns of its own.
    public static let acc = accounting("acc", version: 5)

    /// acc's missed calls, the same columns as acc.
    public static let missedCalls = accounting("missed_calls", version: 4)

    /// htable's rows (dbtable).
    public static let htable = SchemaTable(
        "htable", version: 2,
        [SchemaColumn("id", .rowID), .string("key_name", 64), .int("key_type"), .int("value_type"),
         .string("key_value", 128), .int("expires")])

    /// Every table, `version` first (the order `create` makes them in).
    public static let tables: [SchemaTable] = [versionTable, subscriber, location, locationAttrs, acc, missedCalls, htable]

    public static func table(_ name: String) -> SchemaTable? { tables.first { $0.name == name } }

    /// The steps `migrate` knows, from Kamailio's upgrade notes for 4.2 to 5.6.
    public static let migrations: [SchemaMigration] = [
        SchemaMigration("location", from: 7, to: 8, "Kamailio 4.3 added server_id, connection_id, keepalive and partition"),
        SchemaMigration("location", from: 8, to: 9, "Kamailio 5.1 lengthened contact to 512"),
        SchemaMigration("subscriber", from: 6, to: 7, "Kamailio 5.0 lengthened password to 64, ha1 and ha1b to 128"),
        SchemaMigration("acc", from: 4, to: 5, "Kamailio 4.2 lengthened sip_reason to 128"),
        SchemaMigration("missed_calls", from: 3, to: 4, "Kamailio 4.2 lengthened sip_reason to 128"),
    ]

    /// The steps from `version` to the table's current one, or nil when one is unknown.
    public static func path(_ table: SchemaTable, from version: Int) -> [SchemaMigration]? {
        var steps: [SchemaMigration] = []
        var at = version
        while at < table.version {
            guard let step = migrations.first(where: { $0.table == table.name && $0.from == at }) else { return nil }
            steps.append(step)
            at = step.to
        }
        return at == table.version ? steps : nil
    }

    private static func accounting(_ name: String, version: Int) -> SchemaTable {
        SchemaTable(
            name, version: version,
            [SchemaColumn("id", .rowID), .string("method", 16), .string("from_tag", 128), .string("to_tag", 128),
             .string("callid", 255), .string("sip_code", 3), .string("sip_reason", 128),
             SchemaColumn("time", .timestamp)],
            indexes: [SchemaIndex("\(name)_callid_idx", ["callid"])])
    }
}
