public import ReflexAutomation

/// Durable automation state: alarms and commands with their history, the audit log, overrides,
/// the autonomy switch and every rule version, so that they survive a restart.
///
/// Implementations: ``SQLiteAutomationStore`` (`automation.sqlite`); a PostgreSQL one.
public protocol AutomationStateStore: Sendable {
    /// Writes a batch of the engine's changes in one transaction.
    func apply(_ changes: [AutomationAction]) async throws
    /// Deletes audit entries older than `cutoff` (ms since the epoch) and cleared alarms and
    /// finished commands created before it; returns how many audit entries went.
    @discardableResult
    func prune(before cutoff: Int64) async throws -> Int
    /// What the engine needs at startup.
    func load() async throws -> AutomationSnapshot
    /// Alarms, newest first. `state`: open (not cleared), active, acknowledged, cleared or all.
    func alarms(state: String, device: String?, limit: Int) async throws -> [Alarm]
    /// One alarm by id, or nil.
    func alarm(id: String) async throws -> Alarm?
    /// Commands, newest first, optionally of one device and in one state.
    func commands(device: String?, state: String?, limit: Int) async throws -> [Command]
    /// One command by id, or nil.
    func command(id: String) async throws -> Command?
    /// Audit entries, newest first; pass the last returned id as `before` for the next page.
    func audit(device: String?, rule: String?, limit: Int, before: Int64?) async throws -> [AuditEntry]
}

/// What the automation engine needs at startup: open alarms, the last 1000 cleared ones,
/// unfinished and recent commands, overrides, the autonomy switch, the next audit id and the
/// latest version of every rule.
public struct AutomationSnapshot: Sendable {
    public var alarms: [Alarm] = []
    public var commands: [Command] = []
    public var overrides: [Override] = []
    public var autonomy: AutonomySwitch?
    public var nextAuditID: Int64 = 1
    public var ruleVersions: [(rule: String, version: Int, text: String)] = []
    /// Rules made through the API (not deleted), to install again.
    public var apiRules: [(rule: String, text: String)] = []

    public init() {}
}
