import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL ``AutomationStateStore`` (``PostgresAutomationSchema``): alarms and commands
/// with their history, the audit log, overrides, the autonomy switch, every rule version and
/// the rules made through the API, as JSON rows next to the columns queries filter on; the same
/// behaviour as ``SQLiteAutomationStore``.
///
/// ``apply(_:)`` is one transaction; ``load()`` reads one snapshot. Errors, a lost connection
/// among them, are thrown (postgres-nio's, described by ``PostgresDatabase/describe(_:)``).
public final class PostgresAutomationStore: AutomationStateStore {
    let database: PostgresDatabase

    /// A store on `database`, which must hold ``PostgresAutomationSchema/migrations``. It needs
    /// no clock: every time it stores comes in the rows.
    public init(database: PostgresDatabase) {
        self.database = database
    }

    // MARK: - Writes

    /// Writes a batch of rows in one transaction, in order.
    public func apply(_ writes: [AutomationWrite]) async throws {
        guard !writes.isEmpty else { return }
        let queries = writes.map(Self.statement)
        try await database.transaction { connection in
            for query in queries { try await connection.query(query, logger: database.logger) }
        }
    }

    static func statement(_ write: AutomationWrite) -> PostgresQuery {
        switch write {
        case .alarm(let id, let device, let state, let raisedAt, let json):
            """
            INSERT INTO alarms (id, device, state, raised_at, json) VALUES (\(id), \(device), \(state), \(raisedAt), \(json))
            ON CONFLICT (id) DO UPDATE SET device = excluded.device, state = excluded.state,
                raised_at = excluded.raised_at, json = excluded.json
            """
        case .command(let id, let device, let state, let createdAt, let json):
            """
            INSERT INTO commands (id, device, state, created_at, json)
            VALUES (\(id), \(device), \(state), \(createdAt), \(json))
            ON CONFLICT (id) DO UPDATE SET device = excluded.device, state = excluded.state,
                created_at = excluded.created_at, json = excluded.json
            """
        case .audit(let id, let at, let device, let rule, let json):
            """
            INSERT INTO audit (id, at, device, rule, json) VALUES (\(id), \(at), \(device), \(rule), \(json))
            ON CONFLICT (id) DO UPDATE SET at = excluded.at, device = excluded.device, rule = excluded.rule,
                json = excluded.json
            """
        case .override(let device, let json?):
            """
            INSERT INTO overrides (device, json) VALUES (\(device), \(json))
            ON CONFLICT (device) DO UPDATE SET json = excluded.json
            """
        case .override(let device, nil):
            "DELETE FROM overrides WHERE device = \(device)"
        case .setting(let key, let json):
            "INSERT INTO settings (key, json) VALUES (\(key), \(json)) ON CONFLICT (key) DO UPDATE SET json = excluded.json"
        case .ruleVersion(let rule, let version, let source, let text, let at):
            """
            INSERT INTO rule_versions (rule, version, source, text, at) VALUES (\(rule), \(version), \(source), \(text), \(at))
            ON CONFLICT (rule, version) DO NOTHING
            """
        case .apiRule(let rule, let text?):
            "INSERT INTO api_rules (rule, text) VALUES (\(rule), \(text)) ON CONFLICT (rule) DO UPDATE SET text = excluded.text"
        case .apiRule(let rule, nil):
            "DELETE FROM api_rules WHERE rule = \(rule)"
        }
    }

    /// Deletes audit entries older than `cutoff` (ms since the epoch) and cleared alarms and
    /// finished commands created before it, in one transaction; returns how many audit entries went.
    @discardableResult
    public func prune(before cutoff: Int64) async throws -> Int {
        try await database.transaction { connection in
            let logger = database.logger
            // Counted in the database, so that a large prune does not send back every id.
            var removed = 0
            for try await count in try await connection.query(
                "WITH gone AS (DELETE FROM audit WHERE at < \(cutoff) RETURNING 1) SELECT count(*) FROM gone",
                logger: logger
            ).decode(Int64.self) {
                removed = Int(count)
            }
            try await connection.query(
                "DELETE FROM alarms WHERE state = 'cleared' AND raised_at < \(cutoff)",
                logger: logger
            )
            try await connection.query(
                "DELETE FROM commands WHERE created_at < \(cutoff) AND state = ANY(\(AutomationRows.finishedCommandStates))",
                logger: logger
            )
            return removed
        }
    }

    // MARK: - Reads

    /// Open alarms, the last 1000 cleared ones, the last 2000 commands, overrides, settings, the
    /// next audit id, the latest version of every rule and the API rules, from one snapshot.
    public func load() async throws -> AutomationRows {
        try await database.transaction { connection in
            let logger = database.logger
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            func strings(_ query: PostgresQuery) async throws -> [String] {
                var values: [String] = []
                for try await value in try await connection.query(query, logger: logger).decode(String.self) {
                    values.append(value)
                }
                return values
            }
            var rows = AutomationRows()
            let recentAlarms = try await strings(
                """
                SELECT json FROM (SELECT json, raised_at, id FROM alarms WHERE state = 'cleared'
                    ORDER BY raised_at DESC, id COLLATE "C" DESC LIMIT \(AutomationRows.clearedAlarmsLoaded)) AS recent
                ORDER BY raised_at, id COLLATE "C"
                """
            )
            let openAlarms = try await strings(
                #"SELECT json FROM alarms WHERE state != 'cleared' ORDER BY raised_at, id COLLATE "C""#
            )
            rows.alarms = recentAlarms + openAlarms
            rows.commands = try await strings(
                """
                SELECT json FROM (SELECT json, created_at, id FROM commands
                    ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT \(AutomationRows.commandsLoaded)) AS recent
                ORDER BY created_at, id COLLATE "C"
                """
            )
            rows.overrides = try await strings(#"SELECT json FROM overrides ORDER BY device COLLATE "C""#)
            for try await (key, json) in try await connection.query("SELECT key, json FROM settings", logger: logger)
                .decode((String, String).self)
            {
                rows.settings[key] = json
            }
            for try await maxID in try await connection.query("SELECT MAX(id) FROM audit", logger: logger)
                .decode(Int64?.self)
            {
                rows.nextAuditID = (maxID ?? 0) + 1
            }
            for try await (rule, version, text) in try await connection.query(
                "SELECT DISTINCT ON (rule) rule, version, text FROM rule_versions ORDER BY rule, version DESC",
                logger: logger
            ).decode((String, Int64, String).self) {
                rows.ruleVersions.append((rule, Int(version), text))
            }
            for try await (rule, text) in try await connection.query(
                #"SELECT rule, text FROM api_rules ORDER BY rule COLLATE "C""#,
                logger: logger
            ).decode((String, String).self) {
                rows.apiRules.append((rule, text))
            }
            return rows
        }
    }

    /// Alarms, newest first. `state`: open (not cleared), active, acknowledged, cleared or all.
    public func alarms(state: String, device: String?, limit: Int) async throws -> [String] {
        var filter = Filter()
        switch state {
        case "open": filter.add("state != 'cleared'")
        case "all": break
        default: filter.add("state = ", state)
        }
        if let device { filter.add("device = ", device) }
        return try await strings(
            filter.query(from: "alarms", orderedBy: #"raised_at DESC, id COLLATE "C" DESC"#, limit: limit)
        )
    }

    /// One alarm's JSON by id, or nil.
    public func alarm(id: String) async throws -> String? {
        try await strings("SELECT json FROM alarms WHERE id = \(id)").first
    }

    /// Commands, newest first, optionally of one device and in one state.
    public func commands(device: String?, state: String?, limit: Int) async throws -> [String] {
        var filter = Filter()
        if let device { filter.add("device = ", device) }
        if let state { filter.add("state = ", state) }
        return try await strings(
            filter.query(from: "commands", orderedBy: #"created_at DESC, id COLLATE "C" DESC"#, limit: limit)
        )
    }

    /// One command's JSON by id, or nil.
    public func command(id: String) async throws -> String? {
        try await strings("SELECT json FROM commands WHERE id = \(id)").first
    }

    /// Audit entries, newest first, before the id `before` if given.
    public func audit(device: String?, rule: String?, limit: Int, before: Int64?) async throws -> [String] {
        var filter = Filter()
        if let device { filter.add("device = ", device) }
        if let rule { filter.add("rule = ", rule) }
        if let before { filter.add("id < ", before) }
        return try await strings(filter.query(from: "audit", orderedBy: "id DESC", limit: limit))
    }

    // MARK: - Internals

    private func strings(_ query: PostgresQuery) async throws -> [String] {
        var values: [String] = []
        for try await value in try await database.query(query).decode(String.self) { values.append(value) }
        return values
    }

    /// A `SELECT json` with conditions whose values are bound, never spliced into the SQL.
    private struct Filter {
        private var conditions: [String] = []
        private var bindings = PostgresBindings()

        /// A condition with no value.
        mutating func add(_ condition: String) {
            conditions.append(condition)
        }

        /// `condition` followed by a placeholder for `value` ("device = " then `$1`).
        mutating func add(_ condition: String, _ value: some PostgresDynamicTypeEncodable) {
            bindings.append(value)
            conditions.append("\(condition)$\(bindings.count)")
        }

        func query(from table: String, orderedBy order: String, limit: Int) -> PostgresQuery {
            var bindings = self.bindings
            // A negative limit is no limit, as in SQLite (`LIMIT NULL` is `LIMIT ALL`).
            bindings.append(limit < 0 ? nil : Int64(limit))
            let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            return PostgresQuery(
                unsafeSQL: "SELECT json FROM \(table)\(condition) ORDER BY \(order) LIMIT $\(bindings.count)",
                binds: bindings
            )
        }
    }
}
