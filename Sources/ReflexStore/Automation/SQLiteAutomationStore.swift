import Foundation
import GRDB

/// The SQLite ``AutomationStateStore``: durable automation state in
/// `<dataDirectory>/automation.sqlite` (GRDB): alarms and commands
/// with their history, the audit log, overrides, the autonomy switch and every rule version, so
/// that alarms, commands and overrides survive a restart. Rows keep the JSON of the value next
/// to the columns that queries filter on.
public final class SQLiteAutomationStore: AutomationStateStore {
    /// The database file's name in the data directory.
    public static let fileName = "automation.sqlite"

    let queue: DatabaseQueue

    /// Opens (creating and migrating) the database at `path`; `nil` opens an in-memory database.
    public init(path: String?) throws {
        if let path {
            queue = try DatabaseQueue(path: path)
        } else {
            queue = try DatabaseQueue()
        }
        try Self.migrator.migrateRefusingNewer(queue)
    }

    /// Opens `<dataDirectory>/automation.sqlite`.
    public convenience init(dataDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        try self.init(path: (dataDirectory as NSString).appendingPathComponent(Self.fileName))
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: automation") { db in
            try db.execute(
                sql: """
                    CREATE TABLE alarms (id TEXT PRIMARY KEY NOT NULL, device TEXT NOT NULL, state TEXT NOT NULL,
                        raised_at INTEGER NOT NULL, json TEXT NOT NULL);
                    CREATE INDEX alarms_device ON alarms(device, raised_at);
                    CREATE TABLE commands (id TEXT PRIMARY KEY NOT NULL, device TEXT NOT NULL, state TEXT NOT NULL,
                        created_at INTEGER NOT NULL, json TEXT NOT NULL);
                    CREATE INDEX commands_device ON commands(device, created_at);
                    CREATE TABLE audit (id INTEGER PRIMARY KEY NOT NULL, at INTEGER NOT NULL, device TEXT, rule TEXT,
                        json TEXT NOT NULL);
                    CREATE INDEX audit_device ON audit(device, id);
                    CREATE INDEX audit_rule ON audit(rule, id);
                    CREATE TABLE overrides (device TEXT PRIMARY KEY NOT NULL, json TEXT NOT NULL);
                    CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, json TEXT NOT NULL);
                    CREATE TABLE rule_versions (rule TEXT NOT NULL, version INTEGER NOT NULL, source TEXT NOT NULL,
                        text TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (rule, version));
                    """
            )
        }
        migrator.registerMigration("v2: api rules") { db in
            try db.execute(sql: "CREATE TABLE api_rules (rule TEXT PRIMARY KEY NOT NULL, text TEXT NOT NULL)")
        }
        return migrator
    }

    // MARK: - Writes

    /// Writes a batch of rows in one transaction, in order.
    public func apply(_ writes: [AutomationWrite]) async throws {
        guard !writes.isEmpty else { return }
        let statements = writes.map(Self.statement)
        try await queue.write { db in
            for (sql, arguments) in statements { try db.execute(sql: sql, arguments: arguments) }
        }
    }

    static func statement(_ write: AutomationWrite) -> (String, StatementArguments) {
        switch write {
        case .alarm(let id, let device, let state, let raisedAt, let json):
            return (
                "INSERT OR REPLACE INTO alarms (id, device, state, raised_at, json) VALUES (?, ?, ?, ?, ?)",
                [id, device, state, raisedAt, json]
            )
        case .command(let id, let device, let state, let createdAt, let json):
            return (
                "INSERT OR REPLACE INTO commands (id, device, state, created_at, json) VALUES (?, ?, ?, ?, ?)",
                [id, device, state, createdAt, json]
            )
        case .audit(let id, let at, let device, let rule, let json):
            return (
                "INSERT OR REPLACE INTO audit (id, at, device, rule, json) VALUES (?, ?, ?, ?, ?)",
                [id, at, device, rule, json]
            )
        case .override(let device, let json?):
            return ("INSERT OR REPLACE INTO overrides (device, json) VALUES (?, ?)", [device, json])
        case .override(let device, nil):
            return ("DELETE FROM overrides WHERE device = ?", [device])
        case .setting(let key, let json):
            return ("INSERT OR REPLACE INTO settings (key, json) VALUES (?, ?)", [key, json])
        case .ruleVersion(let rule, let version, let source, let text, let at):
            return (
                "INSERT OR IGNORE INTO rule_versions (rule, version, source, text, at) VALUES (?, ?, ?, ?, ?)",
                [rule, version, source, text, at]
            )
        case .apiRule(let rule, let text?):
            return ("INSERT OR REPLACE INTO api_rules (rule, text) VALUES (?, ?)", [rule, text])
        case .apiRule(let rule, nil):
            return ("DELETE FROM api_rules WHERE rule = ?", [rule])
        }
    }

    /// Deletes audit entries older than `cutoff` (ms since the epoch) and cleared alarms and
    /// finished commands created before it; returns how many audit entries went.
    @discardableResult
    public func prune(before cutoff: Int64) async throws -> Int {
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM audit WHERE at < ?", arguments: [cutoff])
            let removed = db.changesCount
            try db.execute(sql: "DELETE FROM alarms WHERE state = 'cleared' AND raised_at < ?", arguments: [cutoff])
            let finished = AutomationRows.finishedCommandStates
            try db.execute(
                sql: """
                    DELETE FROM commands WHERE created_at < ?
                    AND state IN (\(databaseQuestionMarks(count: finished.count)))
                    """,
                arguments: [cutoff] + StatementArguments(finished)
            )
            return removed
        }
    }

    // MARK: - Reads

    /// Open alarms, the last 1000 cleared ones, unfinished and recent commands, overrides, the
    /// autonomy switch, the next audit id and the latest version of every rule.
    public func load() async throws -> AutomationRows {
        try await queue.read { db in
            var s = AutomationRows()
            let openAlarms = try String.fetchAll(db, sql: "SELECT json FROM alarms WHERE state != 'cleared'")
            let recentAlarms = try String.fetchAll(
                db,
                sql:
                    "SELECT json FROM (SELECT json, raised_at FROM alarms WHERE state = 'cleared' ORDER BY raised_at DESC LIMIT \(AutomationRows.clearedAlarmsLoaded)) ORDER BY raised_at"
            )
            s.alarms = recentAlarms + openAlarms
            s.commands = try String.fetchAll(
                db,
                sql:
                    "SELECT json FROM (SELECT json, created_at FROM commands ORDER BY created_at DESC LIMIT \(AutomationRows.commandsLoaded)) ORDER BY created_at"
            )
            s.overrides = try String.fetchAll(db, sql: "SELECT json FROM overrides")
            for row in try Row.fetchAll(db, sql: "SELECT key, json FROM settings") {
                s.settings[row["key"]] = row["json"]
            }
            s.nextAuditID = (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM audit") ?? 0) + 1
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT rule, MAX(version) AS version, text FROM rule_versions GROUP BY rule"
            )
            s.ruleVersions = rows.map { ($0["rule"], $0["version"], $0["text"]) }
            s.apiRules = try Row.fetchAll(db, sql: "SELECT rule, text FROM api_rules ORDER BY rule").map {
                ($0["rule"], $0["text"])
            }
            return s
        }
    }

    /// Alarms, newest first. `state`: open (not cleared), active, acknowledged, cleared or all.
    public func alarms(state: String, device: String?, limit: Int) async throws -> [String] {
        try await queue.read { db in
            var sql = "SELECT json FROM alarms WHERE 1"
            var arguments: StatementArguments = []
            switch state {
            case "open": sql += " AND state != 'cleared'"
            case "all": break
            default:
                sql += " AND state = ?"
                arguments += [state]
            }
            if let device {
                sql += " AND device = ?"
                arguments += [device]
            }
            sql += " ORDER BY raised_at DESC, id DESC LIMIT ?"
            arguments += [limit]
            return try String.fetchAll(db, sql: sql, arguments: arguments)
        }
    }

    /// One alarm by id.
    public func alarm(id: String) async throws -> String? {
        try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT json FROM alarms WHERE id = ?", arguments: [id])
        }
    }

    /// Commands, newest first.
    public func commands(device: String?, state: String?, limit: Int) async throws -> [String] {
        try await queue.read { db in
            var sql = "SELECT json FROM commands WHERE 1"
            var arguments: StatementArguments = []
            if let device {
                sql += " AND device = ?"
                arguments += [device]
            }
            if let state {
                sql += " AND state = ?"
                arguments += [state]
            }
            sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
            arguments += [limit]
            return try String.fetchAll(db, sql: sql, arguments: arguments)
        }
    }

    /// One command by id.
    public func command(id: String) async throws -> String? {
        try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT json FROM commands WHERE id = ?", arguments: [id])
        }
    }

    /// Audit entries, newest first, before the id `before` if given.
    public func audit(device: String?, rule: String?, limit: Int, before: Int64?) async throws -> [String] {
        try await queue.read { db in
            var sql = "SELECT json FROM audit WHERE 1"
            var arguments: StatementArguments = []
            if let device {
                sql += " AND device = ?"
                arguments += [device]
            }
            if let rule {
                sql += " AND rule = ?"
                arguments += [rule]
            }
            if let before {
                sql += " AND id < ?"
                arguments += [before]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [limit]
            return try String.fetchAll(db, sql: sql, arguments: arguments)
        }
    }
}
