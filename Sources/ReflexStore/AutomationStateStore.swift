/// Durable automation state as rows: alarms and commands with their history, the audit log,
/// overrides, settings (the autonomy switch), every rule version and the rules made through the
/// API, so that they survive a restart.
///
/// The store keeps each value as the JSON its owner encodes, next to the columns that queries
/// filter on; it knows no automation type (the pipeline maps them, see `AutomationRecords` in
/// ReflexNode).
///
/// Implementations: ``SQLiteAutomationStore`` (`automation.sqlite`), ``PostgresAutomationStore``.
public protocol AutomationStateStore: Sendable {
    /// Writes rows in one transaction, in order.
    func apply(_ writes: [AutomationWrite]) async throws
    /// Deletes audit entries older than `cutoff` (ms since the epoch) and cleared alarms and
    /// finished commands created before it; returns how many audit entries went.
    @discardableResult
    func prune(before cutoff: Int64) async throws -> Int
    /// What the engine needs at startup.
    func load() async throws -> AutomationRows
    /// Alarm JSON, newest first. `state`: open (not cleared), active, acknowledged, cleared or all.
    func alarms(state: String, device: String?, limit: Int) async throws -> [String]
    /// One alarm's JSON by id, or nil.
    func alarm(id: String) async throws -> String?
    /// Command JSON, newest first, optionally of one device and in one state.
    func commands(device: String?, state: String?, limit: Int) async throws -> [String]
    /// One command's JSON by id, or nil.
    func command(id: String) async throws -> String?
    /// Audit entry JSON, newest first; pass the last returned id as `before` for the next page.
    func audit(device: String?, rule: String?, limit: Int, before: Int64?) async throws -> [String]
}

/// One row written to an ``AutomationStateStore``.
public enum AutomationWrite: Sendable, Equatable {
    /// Inserts or replaces an alarm.
    case alarm(id: String, device: String, state: String, raisedAt: Int64, json: String)
    /// Inserts or replaces a command.
    case command(id: String, device: String, state: String, createdAt: Int64, json: String)
    /// Inserts or replaces an audit entry.
    case audit(id: Int64, at: Int64, device: String?, rule: String?, json: String)
    /// Sets a device's override; nil removes it.
    case override(device: String, json: String?)
    /// Sets a node setting (the autonomy switch is `autonomy`).
    case setting(key: String, json: String)
    /// Records a rule version; an existing (rule, version) is kept.
    case ruleVersion(rule: String, version: Int, source: String, text: String, at: Int64)
    /// Stores the text of a rule made through the API; nil removes it.
    case apiRule(rule: String, text: String?)
}

/// What an ``AutomationStateStore`` hands back at startup: open alarms and the last 1000
/// cleared ones (oldest first), the last 2000 commands (oldest first), overrides and settings
/// as JSON, the next audit id and the latest version of every rule.
public struct AutomationRows: Sendable {
    public var alarms: [String] = []
    public var commands: [String] = []
    public var overrides: [String] = []
    /// Settings by key.
    public var settings: [String: String] = [:]
    public var nextAuditID: Int64 = 1
    public var ruleVersions: [(rule: String, version: Int, text: String)] = []
    /// Rules made through the API (not deleted), to install again.
    public var apiRules: [(rule: String, text: String)] = []

    public init() {}
}

extension AutomationRows {
    /// How many cleared alarms ``AutomationStateStore/load()`` hands back, the newest.
    static let clearedAlarmsLoaded = 1000
    /// How many commands ``AutomationStateStore/load()`` hands back, the newest.
    static let commandsLoaded = 2000
    /// The command states after which ``AutomationStateStore/prune(before:)`` may delete one.
    static let finishedCommandStates = ["rejected", "verified", "failed", "expired", "cancelled", "done"]
}
