import Foundation
public import ReflexAutomation
import ReflexCore
public import ReflexStore

/// The automation engine's values in an ``AutomationStateStore``: encodes the engine's actions
/// as rows and decodes rows back into alarms, commands, audit entries and the startup snapshot.
/// The store keeps JSON; only this type knows which automation type a row holds.
public struct AutomationRecords: Sendable {
    /// The rows underneath.
    public let rows: any AutomationStateStore
    private let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - rows: the store.
    ///   - now: the node's wall clock, which stamps rule versions.
    public init(rows: any AutomationStateStore, now: @escaping @Sendable () -> Int64) {
        self.rows = rows
        self.now = now
    }

    // MARK: - Writes

    /// Persists the engine's actions in one transaction (actions that change nothing durable,
    /// such as a publish, write nothing).
    public func apply(_ actions: [AutomationAction]) async throws {
        let time = now()
        let writes = try actions.flatMap { try Self.writes(for: $0, at: time) }
        try await rows.apply(writes)
    }

    /// The rows one action writes.
    static func writes(for action: AutomationAction, at time: Int64) throws -> [AutomationWrite] {
        switch action {
        case .alarm(let a):
            return [
                .alarm(
                    id: a.id,
                    device: a.device.rawValue,
                    state: a.state.rawValue,
                    raisedAt: a.raisedAt,
                    json: try json(a)
                )
            ]
        case .command(let c):
            return [
                .command(
                    id: c.id,
                    device: c.device.rawValue,
                    state: c.state.rawValue,
                    createdAt: c.createdAt,
                    json: try json(c)
                )
            ]
        case .audit(let e):
            return [.audit(id: e.id, at: e.at, device: e.device?.rawValue, rule: e.rule, json: try json(e))]
        case .override(let device, let o):
            return [.override(device: device.rawValue, json: try o.map(json))]
        case .autonomy(let s):
            return [.setting(key: Self.autonomyKey, json: try json(s))]
        case .rule(let r, removed: true) where r.source == "api":
            return [.apiRule(rule: r.id.rawValue, text: nil)]
        case .rule(let r, removed: false):
            let version = AutomationWrite.ruleVersion(
                rule: r.id.rawValue,
                version: r.version,
                source: r.source,
                text: r.text,
                at: time
            )
            if r.source == "api", r.rule != nil {
                return [version, .apiRule(rule: r.id.rawValue, text: r.text)]
            }
            return [version]
        case .rule(_, removed: true), .publish, .webhook, .publishDesired:
            return []
        }
    }

    /// Deletes old audit entries, cleared alarms and finished commands; returns how many audit entries went.
    @discardableResult
    public func prune(before cutoff: Int64) async throws -> Int {
        try await rows.prune(before: cutoff)
    }

    // MARK: - Reads

    /// What the engine needs at startup.
    public func load() async throws -> AutomationSnapshot {
        let saved = try await rows.load()
        var s = AutomationSnapshot()
        s.alarms = try saved.alarms.map { try Self.decode(Alarm.self, $0, what: "an alarm") }
        s.commands = try saved.commands.map { try Self.decode(Command.self, $0, what: "a command") }
        s.overrides = try saved.overrides.map { try Self.decode(Override.self, $0, what: "an override") }
        s.autonomy = try saved.settings[Self.autonomyKey].map {
            try Self.decode(AutonomySwitch.self, $0, what: "the autonomy switch")
        }
        s.nextAuditID = saved.nextAuditID
        s.ruleVersions = saved.ruleVersions
        s.apiRules = saved.apiRules
        return s
    }

    /// Alarms, newest first. `state`: open (not cleared), active, acknowledged, cleared or all.
    public func alarms(state: String, device: String?, limit: Int) async throws -> [Alarm] {
        try await rows.alarms(state: state, device: device, limit: limit).map {
            try Self.decode(Alarm.self, $0, what: "an alarm")
        }
    }

    /// One alarm by id, or nil.
    public func alarm(id: String) async throws -> Alarm? {
        try await rows.alarm(id: id).map { try Self.decode(Alarm.self, $0, what: "alarm '\(id)'") }
    }

    /// Commands, newest first.
    public func commands(device: String?, state: String?, limit: Int) async throws -> [Command] {
        try await rows.commands(device: device, state: state, limit: limit).map {
            try Self.decode(Command.self, $0, what: "a command")
        }
    }

    /// One command by id, or nil.
    public func command(id: String) async throws -> Command? {
        try await rows.command(id: id).map { try Self.decode(Command.self, $0, what: "command '\(id)'") }
    }

    /// Audit entries, newest first, before the id `before` if given.
    public func audit(device: String?, rule: String?, limit: Int, before: Int64?) async throws -> [AuditEntry] {
        try await rows.audit(device: device, rule: rule, limit: limit, before: before).map {
            try Self.decode(AuditEntry.self, $0, what: "an audit entry")
        }
    }

    // MARK: - JSON

    static let autonomyKey = "autonomy"

    private static func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw AutomationRecordError(message: "\(what) stored in the automation state cannot be read: \(error)")
        }
    }
}

/// A stored automation row that does not decode (written by a newer release, or damaged).
public struct AutomationRecordError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
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
