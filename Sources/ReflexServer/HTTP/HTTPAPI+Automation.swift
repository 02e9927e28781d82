import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReflexAutomation
import ReflexCore
import ReflexNode
import ReflexStore
import Synchronization

extension HTTPAPI {
    /// The automation routes (docs/api.md, "Automation"): alarms, commands, overrides, autonomy,
    /// rules and the audit log. Viewers read; operators act; admins switch autonomy and edit rules.
    func addAutomationRoutes(to router: Router<APIRequestContext>) {
        guard let automation else { return }
        addAlarmRoutes(router, automation)
        addCommandRoutes(router, automation)
        addSafetyRoutes(router, automation)
        addRuleRoutes(router, automation)
        router.get("/api/v1/audit") { request, context -> AuditListResponse in
            _ = try context.require(.viewer)
            let query = QueryParameters(request)
            let limit = try query.limit(default: 100, cap: 1_000)
            let entries = try await automation.store.audit(
                device: query.text("device"),
                rule: query.text("rule"),
                limit: limit,
                before: try query.integer("before")
            )
            return AuditListResponse(entries: entries, nextBefore: entries.count == limit ? entries.last?.id : nil)
        }
        router.get("/api/v1/automation/stats") { _, context -> AutomationStatsResponse in
            _ = try context.require(.viewer)
            let summary = automation.decisionLatencySummary
            let engine = automation.snapshot
            return AutomationStatsResponse(
                rules: engine.rules.count,
                openAlarms: engine.alarms.open.count,
                decisions: summary.count,
                latencyP50Microseconds: summary.p50,
                latencyP99Microseconds: summary.p99,
                autonomyEnabled: engine.autonomy.enabled
            )
        }
    }

    // MARK: - Alarms

    private func addAlarmRoutes(_ router: Router<APIRequestContext>, _ automation: AutomationService) {
        router.get("/api/v1/alarms") { request, context -> AlarmListResponse in
            _ = try context.require(.viewer)
            let query = QueryParameters(request)
            let state = query.text("state") ?? "open"
            guard ["open", "active", "acknowledged", "cleared", "all"].contains(state) else {
                throw APIError.badParameter("state", state, expected: "open, active, acknowledged, cleared or all")
            }
            let limit = try query.limit(default: 100, cap: 1_000)
            let device = query.text("device")
            if state != "cleared" && state != "all" {
                // Open alarms all live in the engine: exact and current.
                let open = automation.snapshot.alarms.open.values.filter { alarm in
                    (device == nil || alarm.device.rawValue == device)
                        && (state == "open" || alarm.state.rawValue == state)
                }
                return AlarmListResponse(
                    alarms: Array(open.sorted { ($0.raisedAt, $0.id) > ($1.raisedAt, $1.id) }.prefix(limit))
                )
            }
            return AlarmListResponse(
                alarms: try await automation.store.alarms(state: state, device: device, limit: limit)
            )
        }
        router.get("/api/v1/alarms/:id") { _, context -> Encoded<Alarm> in
            _ = try context.require(.viewer)
            let id = context.parameters.get("id") ?? ""
            if let alarm = automation.snapshot.alarms.alarm(id: id) { return Encoded(alarm) }
            guard let alarm = try await automation.store.alarm(id: id) else {
                throw APIError(
                    .notFound,
                    code: "not_found",
                    message: "no alarm '\(id.prefix(64))'; GET /api/v1/alarms lists them"
                )
            }
            return Encoded(alarm)
        }
        router.post("/api/v1/alarms/:id/acknowledge") { request, context -> Encoded<Alarm> in
            let token = try context.require(.operator)
            let body = try await Self.body(request, as: NoteBody.self)
            let id = context.parameters.get("id") ?? ""
            return Encoded(
                try Self.operatorAction { () throws(AutomationError) in
                    try automation.acknowledgeAlarm(id: id, note: body.note, by: token.name)
                }
            )
        }
        router.post("/api/v1/alarms/:id/shelve") { request, context -> Encoded<Alarm> in
            let token = try context.require(.operator)
            let body = try await Self.body(request, as: ShelveBody.self)
            let id = context.parameters.get("id") ?? ""
            guard let ms = try Self.duration(body.for, field: "for", example: "\"30m\" or \"1h\"") else {
                throw APIError(
                    .badRequest,
                    code: "invalid_body",
                    message: "'for' must be a duration such as \"30m\" or \"1h\""
                )
            }
            return Encoded(
                try Self.operatorAction { () throws(AutomationError) in
                    try automation.shelveAlarm(id: id, for: ms, reason: body.reason, by: token.name)
                }
            )
        }
        router.post("/api/v1/alarms/:id/unshelve") { _, context -> Encoded<Alarm> in
            let token = try context.require(.operator)
            let id = context.parameters.get("id") ?? ""
            return Encoded(
                try Self.operatorAction { () throws(AutomationError) in
                    try automation.unshelveAlarm(id: id, by: token.name)
                }
            )
        }
        router.post("/api/v1/alarms/:id/notes") { request, context -> Encoded<Alarm> in
            let token = try context.require(.operator)
            let body = try await Self.body(request, as: TextBody.self)
            let id = context.parameters.get("id") ?? ""
            return Encoded(
                try Self.operatorAction { () throws(AutomationError) in
                    try automation.noteAlarm(id: id, text: body.text ?? "", by: token.name)
                }
            )
        }
    }

    // MARK: - Commands

    private func addCommandRoutes(_ router: Router<APIRequestContext>, _ automation: AutomationService) {
        let devices = self.devices
        router.get("/api/v1/commands") { request, context -> CommandListResponse in
            _ = try context.require(.viewer)
            let query = QueryParameters(request)
            let limit = try query.limit(default: 100, cap: 1_000)
            var state: CommandState?
            if let text = query.text("state") {
                guard let s = CommandState(rawValue: text) else {
                    throw APIError.badParameter(
                        "state",
                        text,
                        expected: CommandState.allCases.map(\.rawValue).joined(separator: ", ")
                    )
                }
                state = s
            }
            var device: DeviceID?
            if let text = query.text("device") {
                device = try? DeviceID(validating: text)
                guard device != nil else { throw APIError.badParameter("device", text, expected: "a device id") }
            }
            return CommandListResponse(
                commands: automation.snapshot.commands.list(device: device, state: state, limit: limit)
            )
        }
        router.get("/api/v1/commands/:id") { _, context -> Encoded<Command> in
            _ = try context.require(.viewer)
            let id = context.parameters.get("id") ?? ""
            if let command = automation.snapshot.commands.commands[id] { return Encoded(command) }
            guard let command = try await automation.store.command(id: id) else {
                throw APIError(
                    .notFound,
                    code: "not_found",
                    message: "no command '\(id.prefix(64))'; GET /api/v1/commands lists them"
                )
            }
            return Encoded(command)
        }
        router.post("/api/v1/devices/:id/commands") { request, context -> EditedResponse<Encoded<Command>> in
            let token = try context.require(.operator)
            let device = try Self.deviceID(context)
            guard try await devices.device(device) != nil else { throw APIError.unknownDevice(device.rawValue) }
            let body = try await Self.body(request, as: CommandBody.self)
            guard let name = body.name, !name.isEmpty else {
                throw APIError(
                    .badRequest,
                    code: "invalid_body",
                    message: "'name' is required, e.g. {\"name\": \"stop\", \"params\": {}}"
                )
            }
            let ttl = try Self.duration(body.ttl, field: "ttl", example: "\"5m\"")
            let command = try await Self.publishingOperatorAction { () async throws(AutomationError) in
                try await automation.sendCommand(
                    device: device,
                    name: name,
                    params: body.params ?? [:],
                    ttl: ttl,
                    idempotencyKey: body.idempotencyKey,
                    by: token.name
                )
            }
            return EditedResponse(status: .accepted, response: Encoded(command))
        }
        router.post("/api/v1/commands/:id/approve") { request, context -> Encoded<Command> in
            let token = try context.require(.operator)
            let body = try await Self.body(request, as: NoteBody.self)
            let id = context.parameters.get("id") ?? ""
            return Encoded(
                try await Self.publishingOperatorAction { () async throws(AutomationError) in
                    try await automation.approveCommand(id: id, note: body.note, by: token.name)
                }
            )
        }
        router.post("/api/v1/commands/:id/reject") { request, context -> Encoded<Command> in
            let token = try context.require(.operator)
            let body = try await Self.body(request, as: ReasonBody.self)
            let id = context.parameters.get("id") ?? ""
            return Encoded(
                try Self.operatorAction { () throws(AutomationError) in
                    try automation.rejectCommand(id: id, reason: body.reason, by: token.name)
                }
            )
        }
    }

    // MARK: - Override and autonomy

    private func addSafetyRoutes(_ router: Router<APIRequestContext>, _ automation: AutomationService) {
        let devices = self.devices
        router.get("/api/v1/devices/:id/override") { _, context -> OverrideResponse in
            _ = try context.require(.viewer)
            let device = try Self.deviceID(context)
            return OverrideResponse(automation.snapshot, device: device, now: automation.currentTime())
        }
        router.put("/api/v1/devices/:id/override") { request, context -> OverrideResponse in
            let token = try context.require(.operator)
            let device = try Self.deviceID(context)
            guard try await devices.device(device) != nil else { throw APIError.unknownDevice(device.rawValue) }
            let body = try await Self.body(request, as: OverrideBody.self)
            guard let reason = body.reason, !reason.isEmpty else {
                throw APIError(
                    .badRequest,
                    code: "invalid_body",
                    message: "'reason' is required: say why the device is in manual"
                )
            }
            let duration = try Self.duration(body.for, field: "for", example: "\"30m\"")
            _ = automation.setOverride(device: device, reason: reason, for: duration, by: token.name)
            return OverrideResponse(automation.snapshot, device: device, now: automation.currentTime())
        }
        router.delete("/api/v1/devices/:id/override") { _, context -> OverrideResponse in
            let token = try context.require(.operator)
            let device = try Self.deviceID(context)
            automation.releaseOverride(device: device, by: token.name)
            return OverrideResponse(automation.snapshot, device: device, now: automation.currentTime())
        }
        router.get("/api/v1/autonomy") { _, context -> Encoded<AutonomySwitch> in
            _ = try context.require(.viewer)
            return Encoded(automation.snapshot.autonomy)
        }
        router.put("/api/v1/autonomy") { request, context -> Encoded<AutonomySwitch> in
            let token = try context.require(.admin)
            let body = try await Self.body(request, as: AutonomyBody.self)
            guard let enabled = body.enabled else {
                throw APIError(.badRequest, code: "invalid_body", message: "'enabled' (true or false) is required")
            }
            return Encoded(automation.setAutonomy(enabled: enabled, reason: body.reason, by: token.name))
        }
    }

    // MARK: - Rules

    private func addRuleRoutes(_ router: Router<APIRequestContext>, _ automation: AutomationService) {
        router.get("/api/v1/rules") { _, context -> RuleListResponse in
            _ = try context.require(.viewer)
            return RuleListResponse(
                rules: automation.snapshot.rules.values.sorted { $0.id < $1.id }.map(RuleResponse.init)
            )
        }
        router.get("/api/v1/rules/:rule") { _, context -> RuleResponse in
            _ = try context.require(.viewer)
            let id = try Self.ruleID(context)
            guard let record = automation.snapshot.rules[id] else { throw Self.unknownRule(id) }
            return RuleResponse(record)
        }
        router.put("/api/v1/rules/:rule") { request, context -> RuleResponse in
            _ = try context.require(.admin)
            let id = try Self.ruleID(context)
            let buffer = try await request.body.collect(upTo: 256 * 1024)
            let text = String(buffer: buffer)
            return RuleResponse(
                try Self.operatorAction { () throws(AutomationError) in try automation.putRule(id, text: text) }
            )
        }
        router.delete("/api/v1/rules/:rule") { _, context -> Response in
            _ = try context.require(.admin)
            let id = try Self.ruleID(context)
            try Self.operatorAction { () throws(AutomationError) in try automation.deleteRule(id) }
            return Response(status: .noContent)
        }
        for (verb, enabled, dryRun) in [("enable", true, nil), ("disable", false, nil), ("dry-run", nil, true)]
            as [(String, Bool?, Bool?)]
        {
            router.post("/api/v1/rules/:rule/\(verb)") { request, context -> RuleResponse in
                let token = try context.require(.admin)
                let id = try Self.ruleID(context)
                var dry = dryRun
                if verb == "dry-run", QueryParameters(request).text("enabled") == "false" { dry = false }
                return RuleResponse(
                    try Self.operatorAction { () throws(AutomationError) in
                        try automation.setRuleFlags(id, enabled: enabled, dryRun: dry, by: token.name)
                    }
                )
            }
        }
    }

    // MARK: - Helpers

    static func ruleID(_ context: APIRequestContext) throws -> RuleID {
        let text = context.parameters.get("rule") ?? ""
        guard let id = RuleID(validating: text) else {
            throw APIError(
                .badRequest,
                code: "invalid_parameter",
                message: "rule id '\(text.prefix(64))' must be letters, digits, '-', '_' or '.'"
            )
        }
        return id
    }

    static func unknownRule(_ id: RuleID) -> APIError {
        APIError(.notFound, code: "not_found", message: "no rule '\(id)'; GET /api/v1/rules lists them")
    }

    /// A positive duration from a body field in milliseconds, nil when the field is absent; 400
    /// naming the field and an example when it is not a duration.
    static func duration(_ text: String?, field: String, example: String) throws -> Int64? {
        guard let text else { return nil }
        guard let ms = DurationText.milliseconds(text), ms > 0 else {
            throw APIError(
                .badRequest,
                code: "invalid_body",
                message: "'\(field)' must be a duration such as \(example)"
            )
        }
        return ms
    }

    /// Decodes a JSON body (an empty body is `{}`); 400 naming the problem.
    static func body<T: Decodable>(_ request: Request, as type: T.Type) async throws -> T {
        let buffer = try await request.body.collect(upTo: 256 * 1024)
        let data = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer.readableBytesView)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw APIError(.badRequest, code: "invalid_body", message: "the body is not the expected JSON: \(error)")
        }
    }
}

extension AutomationError {
    /// The HTTP error for an automation error.
    var apiError: APIError {
        switch self {
        case .notFound(let m): APIError(.notFound, code: "not_found", message: m)
        case .invalid(let m): APIError(.badRequest, code: "invalid_request", message: m)
        case .conflict(let m): APIError(.conflict, code: "conflict", message: m)
        case .invalidRule(let errors):
            APIError(.badRequest, code: "invalid_rule", message: errors.map(\.description).joined(separator: "; "))
        }
    }
}

extension HTTPAPI {
    /// Runs an operator action; maps its refusal to HTTP.
    static func operatorAction<T>(_ body: () throws(AutomationError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw error.apiError
        }
    }

    /// Runs an operator action that publishes; maps its refusal to HTTP.
    static func publishingOperatorAction<T>(_ body: () async throws(AutomationError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw error.apiError
        }
    }
}

// MARK: - Bodies and responses

struct NoteBody: Decodable { var note: String? }
struct ReasonBody: Decodable { var reason: String? }
struct TextBody: Decodable { var text: String? }
struct ShelveBody: Decodable {
    var `for`: String?
    var reason: String?
}
struct OverrideBody: Decodable {
    var reason: String?
    var `for`: String?
}
struct AutonomyBody: Decodable {
    var enabled: Bool?
    var reason: String?
}
struct CommandBody: Decodable {
    var name: String?
    var params: [String: JSONValue]?
    var ttl: String?
    var idempotencyKey: String?
}

/// A domain value as a JSON response (the domain types stay free of Hummingbird).
struct Encoded<Value: Encodable & Sendable>: ResponseEncodable {
    var value: Value

    init(_ value: Value) { self.value = value }

    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

struct AlarmListResponse: ResponseEncodable { var alarms: [Alarm] }
struct CommandListResponse: ResponseEncodable { var commands: [Command] }
struct AuditListResponse: ResponseEncodable {
    var entries: [AuditEntry]
    var nextBefore: Int64?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entries, forKey: .entries)
        try c.encode(nextBefore, forKey: .nextBefore)
    }

    enum CodingKeys: String, CodingKey { case entries, nextBefore }
}

struct AutomationStatsResponse: ResponseEncodable {
    var rules: Int
    var openAlarms: Int
    var decisions: Int
    var latencyP50Microseconds: Double?
    var latencyP99Microseconds: Double?
    var autonomyEnabled: Bool
}

struct OverrideResponse: ResponseEncodable {
    struct FailSafe: Encodable {
        var active: Bool
        var reason: String?
        var since: Int64?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(active, forKey: .active)
            try c.encode(reason, forKey: .reason)
            try c.encode(since, forKey: .since)
        }

        enum CodingKeys: String, CodingKey { case active, reason, since }
    }

    var device: String
    var mode: String
    var reason: String?
    var by: String?
    var since: Int64?
    var until: Int64?
    var failSafe: FailSafe

    init(_ engine: AutomationEngine, device: DeviceID, now: Int64) {
        let o = engine.override(of: device, at: now)
        let fs = engine.failSafeState(of: device)
        self.device = device.rawValue
        mode = o == nil ? "auto" : "manual"
        reason = o?.reason
        by = o?.by
        since = o?.since
        until = o?.until
        failSafe = FailSafe(active: fs.active, reason: fs.reason, since: fs.since)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(device, forKey: .device)
        try c.encode(mode, forKey: .mode)
        try c.encode(reason, forKey: .reason)
        try c.encode(by, forKey: .by)
        try c.encode(since, forKey: .since)
        try c.encode(until, forKey: .until)
        try c.encode(failSafe, forKey: .failSafe)
    }

    enum CodingKeys: String, CodingKey { case device, mode, reason, by, since, until, failSafe }
}

struct RuleResponse: ResponseEncodable {
    var id: String
    var version: Int
    var enabled: Bool
    var dryRun: Bool
    var source: String
    var lastFiredAt: Int64?
    var firedCount: Int
    var errors: [String]
    var warnings: [String]
    var text: String

    init(_ record: RuleRecord) {
        id = record.id.rawValue
        version = record.version
        enabled = record.enabled
        dryRun = record.dryRun
        source = record.source
        lastFiredAt = record.lastFiredAt
        firedCount = record.firedCount
        errors = record.errors
        warnings = record.warnings
        text = record.text
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(version, forKey: .version)
        try c.encode(enabled, forKey: .enabled)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(source, forKey: .source)
        try c.encode(lastFiredAt, forKey: .lastFiredAt)
        try c.encode(firedCount, forKey: .firedCount)
        try c.encode(errors, forKey: .errors)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(text, forKey: .text)
    }

    enum CodingKeys: String, CodingKey {
        case id, version, enabled, dryRun, source, lastFiredAt, firedCount, errors, warnings, text
    }
}

struct RuleListResponse: ResponseEncodable { var rules: [RuleResponse] }
