// respite-db: creates, checks and migrates the tables Respite uses (Kamailio 5.6's), and
// keeps subscribers, on SQLite or PostgreSQL (the role of Kamailio's kamdbctl and kamctl).
import ArgumentParser
import Database
import Foundation

struct RespiteDb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "respite-db",
        abstract: "Create, check and migrate Respite's database tables (Kamailio 5.6's schema); add and remove subscribers.",
        discussion: """
            URL is a database URL as in the config: sqlite:///relative/file, sqlite:////absolute/file, \
            postgres://user:password@host:port/database. Exit status: 0 done, 1 a table is missing, \
            at another version or could not be changed (or a subscriber command failed), 2 a bad URL \
            or no connection.
            """,
        subcommands: [Create.self, Check.self, Migrate.self, AddUser.self, RemoveUser.self, ListUsers.self])
}

/// The URL and `--tables` every schema command takes.
struct SchemaOptions: ParsableArguments {
    @Argument(help: "The database URL.")
    var url: String

    @Option(name: .long, parsing: .upToNextOption,
            help: "Only these tables (names separated by spaces or commas; default: all of \(SchemaCatalog.tables.map(\.name).joined(separator: ", "))).")
    var tables: [String] = []

    func validate() throws {
        for name in names where SchemaCatalog.table(name) == nil {
            throw ValidationError("unknown table '\(name)' (\(SchemaCatalog.tables.map(\.name).joined(separator: ", ")))")
        }
    }

    var names: [String] { tables.flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty } }

    /// The tables asked for, in the catalog's order.
    var selected: [SchemaTable] {
        let wanted = Set(names)
        return wanted.isEmpty ? SchemaCatalog.tables : SchemaCatalog.tables.filter { wanted.contains($0.name) }
    }
}

/// Opens `text`'s database or exits 2 with the reason (the URL without its password).
func connect(_ text: String, create: Bool = false) throws -> DatabaseConnection {
    let url: DatabaseURL
    switch DatabaseURL.parse(text) {
    case .success(let u): url = u
    case .failure(let e): throw fail(e.message, status: 2)
    }
    var options = DatabaseOptions()
    options.sqliteCreate = create
    // A schema change on a large table may take longer than a lookup's budget.
    options.queryTimeoutMs = 60_000
    let db = DatabaseConnection(url: url, options: options)
    if let e = db.open() { throw fail(e.message, status: 2) }
    return db
}

func fail(_ message: String, status: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("respite-db: \(message)\n".utf8))
    return ExitCode(status)
}

func finish(_ outcome: SchemaOutcome) throws {
    outcome.lines.forEach { print($0) }
    if outcome.failed { throw ExitCode(1) }
}

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the tables that are missing, with their indexes and version rows (a SQLite file is created when missing).")
    @OptionGroup var options: SchemaOptions
    func run() throws {
        try finish(SchemaTool(try connect(options.url, create: true)).create(options.selected))
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that every table is present, with its columns and the version Respite reads.")
    @OptionGroup var options: SchemaOptions
    func run() throws {
        try finish(SchemaTool(try connect(options.url)).check(options.selected))
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring older tables to the version Respite reads, where the steps are known; say what was done.")
    @OptionGroup var options: SchemaOptions
    func run() throws {
        try finish(SchemaTool(try connect(options.url)).migrate(options.selected))
    }
}

struct AddUser: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-user", abstract: "Add a subscriber: password, ha1 and ha1b as kamctl add writes them.")
    @Argument(help: "The database URL.") var url: String
    @Argument(help: "user@domain") var account: String
    @Argument(help: "The password.") var password: String

    func validate() throws {
        if SubscriberAccounts.account(account) == nil { throw ValidationError("'\(account)' is not user@domain") }
    }

    func run() throws {
        let (user, domain) = SubscriberAccounts.account(account)!
        if case .failure(let e) = SubscriberAccounts(db: try connect(url)).add(user: user, domain: domain, password: password) {
            throw fail(e.description, status: 1)
        }
        print("added \(user)@\(domain)")
    }
}

struct RemoveUser: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove-user", abstract: "Remove a subscriber.")
    @Argument(help: "The database URL.") var url: String
    @Argument(help: "user@domain") var account: String

    func validate() throws {
        if SubscriberAccounts.account(account) == nil { throw ValidationError("'\(account)' is not user@domain") }
    }

    func run() throws {
        let (user, domain) = SubscriberAccounts.account(account)!
        if case .failure(let e) = SubscriberAccounts(db: try connect(url)).remove(user: user, domain: domain) {
            throw fail(e.description, status: 1)
        }
        print("removed \(user)@\(domain)")
    }
}

struct ListUsers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-users", abstract: "List the subscribers, one user@domain a line.")
    @Argument(help: "The database URL.") var url: String

    func run() throws {
        switch SubscriberAccounts(db: try connect(url)).list() {
        case .failure(let e): throw fail(e.description, status: 1)
        case .success(let accounts): accounts.forEach { print($0) }
        }
    }
}

RespiteDb.main()
