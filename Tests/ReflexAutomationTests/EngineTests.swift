import Foundation
import ReflexAutomation
import ReflexCore
import Testing

@Suite struct EngineTests {
    static let threshold = """
        rule: overheat
        scope: { type: pump }
        when: temperature > 85 for 30s
        clear: temperature < 80 for 1m
        do:
          - alarm: { type: overheat, severity: major, message: "at {temperature} °C" }
          - command: { name: set_speed, params: { rpm: "max(speed * 0.7, 900)" }, bounds: { rpm: [1000, 3000] } }
        interlocks: [ "pressure < 12" ]
        cooldown: 10m
        """

    @Test("a threshold held for its duration raises one alarm and sends one command, explained in the audit")
    func fires() throws {
        var f = EngineFixture(rules: Self.threshold)
        f.send(["temperature": 90, "speed": 2000, "pressure": 9.8])
        #expect(f.openAlarms.isEmpty)
        f.advance(29_000)
        #expect(f.openAlarms.isEmpty)
        f.advance(1_000)
        let alarm = try #require(f.openAlarms.first)
        #expect(alarm.message == "at 90 °C")
        #expect(alarm.severity == .major)
        let command = try #require(f.published.first)
        #expect(command.name == "set_speed")
        #expect(command.params["rpm"] == .number(1400))
        #expect(command.origin == "rule:overheat@1")
        let fired = try #require(f.audits.first { $0.decision == .fired })
        #expect(fired.inputs["temperature"] == 90)
        #expect(fired.interlocks == [InterlockCheck(expression: "pressure < 12", held: true, detail: "pressure = 9.8")])
        #expect(fired.ruleVersion == 1)
        #expect(f.decisions.filter { $0 == .alarmRaised }.count == 1)
    }

    @Test("hysteresis: the alarm clears only when the clear condition has held for its duration")
    func hysteresis() throws {
        var f = EngineFixture(rules: Self.threshold)
        f.send(["temperature": 90, "speed": 2000, "pressure": 9])
        f.advance(30_000)
        #expect(f.openAlarms.count == 1)
        f.send(["temperature": 82])  // below 85 but not below 80: still active
        f.advance(120_000)
        #expect(f.openAlarms.count == 1)
        f.send(["temperature": 79])
        f.advance(59_000)
        #expect(f.openAlarms.count == 1)
        f.advance(1_000)
        #expect(f.openAlarms.isEmpty)
        #expect(f.decisions.contains(.alarmCleared))
        #expect(f.engine.alarms.cleared.first?.state == .cleared)
    }

    @Test("without 'clear', the episode lasts while 'when' (with its duration) holds")
    func defaultClear() {
        var f = EngineFixture(
            rules: "rule: r\nscope: { type: pump }\nwhen: vibration > 5 for 10s\ndo:\n  - alarm: { type: shaking }\n"
        )
        f.send(["vibration": 6])
        f.advance(10_000)
        #expect(f.openAlarms.count == 1)
        f.send(["vibration": 7])
        f.advance(5_000)
        #expect(f.openAlarms.count == 1)
        f.send(["vibration": 1])
        #expect(f.openAlarms.isEmpty)
        f.send(["vibration": 6])
        #expect(f.openAlarms.isEmpty)  // a new episode needs the full 10 s again
        f.advance(10_000)
        #expect(f.openAlarms.count == 1)
    }

    @Test("anomaly scores from detection fire rules; webhooks carry the rule, device and inputs")
    func anomalyAndWebhook() throws {
        let rule = """
            rule: shaky
            scope: { type: pump }
            when: anomaly(vibration) > 0.9
            do:
              - webhook: { url: "https://ops.example.com/hook" }
            """
        var f = EngineFixture(rules: rule)
        f.score("vibration", value: 9, score: 0.95)
        let hook = try #require(
            f.actions.compactMap { action -> JSONValue? in
                if case .webhook(let url, let body, _, _) = action, url == "https://ops.example.com/hook" {
                    return body
                }
                return nil
            }.first
        )
        guard case .object(let body) = hook else {
            Issue.record("not an object")
            return
        }
        #expect(body["rule"] == .string("shaky"))
        #expect(body["device"] == .string("pump-1"))
        #expect(body["inputs"] == .object(["anomaly(vibration)": .number(0.95)]))
        #expect(f.audits.first?.inputs == ["anomaly(vibration)": 0.95])
    }

    @Test("an alarm fired by a score names the scored reading, whichever stream arrives first")
    func scoredReadingInMessage() throws {
        let rule = """
            rule: shaky
            scope: { type: pump }
            when: anomaly(vibration) > 0.9
            do:
              - alarm: { type: vibration, severity: warning, message: "vibration {vibration} mm/s is unusual" }
            """
        var f = EngineFixture(rules: rule)
        f.send(["vibration": 0.398])
        // A late score of an older sample does not replace the newer reading.
        f.score("vibration", value: 0.2, score: 0.1, at: f.now - 5000)
        // The jump's score arrives before its telemetry.
        f.advance(1000)
        f.score("vibration", value: 1.53, score: 0.99)
        let alarm = try #require(f.openAlarms.first)
        #expect(alarm.message == "vibration 1.53 mm/s is unusual")
        f.send(["vibration": 1.53])
        #expect(f.openAlarms.count == 1)
    }

    @Test("a desired-state action publishes its values, gated like a command")
    func desired() {
        let rule = "rule: eco\nscope: { type: pump }\nwhen: load < 10\ndo:\n  - desired: { mode: eco, setpoint: 42 }\n"
        var f = EngineFixture(rules: rule)
        f.send(["load": 5])
        let published = f.actions.compactMap { action -> [String: JSONValue]? in
            if case .publishDesired(_, let values) = action { return values }
            return nil
        }
        #expect(published == [["mode": .string("eco"), "setpoint": .number(42)]])
        #expect(
            f.audits.first?.summary.hasPrefix("Set the desired state of pump-1 to {mode: \"eco\", setpoint: 42}")
                == true
        )
    }

    @Test("interlocks, cooldown and cap suppress actions, each audited with its reason")
    func gates() throws {
        var f = EngineFixture(rules: Self.threshold)
        f.send(["temperature": 90, "speed": 2000, "pressure": 15])
        f.advance(30_000)
        #expect(f.published.isEmpty)
        let suppressed = try #require(f.audits.first { $0.decision == .suppressedInterlock })
        #expect(suppressed.summary.contains("interlock 'pressure < 12' does not hold (pressure = 15)"))
        #expect(f.openAlarms.count == 1)  // alarms are raised whatever the gates say

        let capped = """
            rule: capped
            scope: { devices: [pump-1] }
            when: vibration > 5
            do:
              - command: { name: stop }
            maxActionsPerHour: 2
            cooldown: 1s
            """
        var g = EngineFixture(rules: capped)
        for _ in 0..<4 {
            g.send(["vibration": 6])
            g.send(["vibration": 1])
            g.advance(2_000)
        }
        #expect(g.published.count == 2)
        #expect(g.decisions.filter { $0 == .suppressedCap }.count == 2)

        let cooled = capped.replacingOccurrences(of: "maxActionsPerHour: 2\ncooldown: 1s", with: "cooldown: 10m")
        var h = EngineFixture(rules: cooled)
        h.send(["vibration": 6])
        h.send(["vibration": 1])
        h.advance(60_000)
        h.send(["vibration": 6])
        #expect(h.published.count == 1)
        #expect(h.decisions.contains(.suppressedCooldown))
    }

    @Test("dry run audits what it would have done and sends nothing")
    func dryRun() {
        var f = EngineFixture(rules: Self.threshold + "\ndryRun: true\n")
        f.send(["temperature": 90, "speed": 2000, "pressure": 9])
        f.advance(30_000)
        #expect(f.published.isEmpty)
        #expect(f.openAlarms.isEmpty)
        let entry = f.audits.first { $0.decision == .wouldFire }
        #expect(entry?.summary.contains("would have acted: raise alarm overheat; send set_speed {rpm: 1400") == true)
    }

    @Test("manual override blocks autonomy, and every blocked attempt is audited; release resumes")
    func overridePrecedence() {
        let rule = "rule: r\nscope: { type: pump }\nwhen: vibration > 5\ndo:\n  - command: { name: stop }\n"
        var f = EngineFixture(rules: rule)
        let (_, actions) = f.engine.setOverride(
            device: EngineFixture.pump1,
            reason: "maintenance",
            until: f.now + 60_000,
            by: "alice",
            at: f.now
        )
        f.actions += actions
        for _ in 0..<3 {
            f.send(["vibration": 6])
            f.send(["vibration": 1])
        }
        #expect(f.published.isEmpty)
        let blocked = f.audits.filter { $0.decision == .suppressedOverride }
        #expect(blocked.count == 3)
        #expect(blocked.first?.summary.contains("manual (override by alice: maintenance)") == true)
        f.advance(60_000)  // expired
        f.send(["vibration": 6])
        #expect(f.published.count == 1)
        // The operator can still command the device in manual.
        _ = f.engine.setOverride(device: EngineFixture.pump2, reason: "x", until: nil, by: "bob", at: f.now)
        let sent = try? f.engine.sendCommand(
            device: EngineFixture.pump2,
            name: "stop",
            params: [:],
            ttl: nil,
            idempotencyKey: nil,
            by: "bob",
            at: f.now
        )
        #expect(sent?.0.state == .sent)
    }

    @Test("autonomy off suppresses rule and fail-safe commands")
    func autonomyOff() {
        let rule = "rule: r\nscope: { type: pump }\nwhen: vibration > 5\ndo:\n  - command: { name: stop }\n"
        var f = EngineFixture(rules: rule, failSafes: [FailSafePolicy(deviceType: "pump", command: "stop")])
        _ = f.engine.setAutonomy(enabled: false, reason: "commissioning", by: "root", at: f.now)
        f.send(["vibration": 6])
        f.actions += f.engine.handle(.deviceStatus(EngineFixture.pump1, online: false), at: f.now)
        #expect(f.published.isEmpty)
        #expect(f.decisions.filter { $0 == .suppressedAutonomyOff }.count == 2)
    }

    @Test("approval holds a command until an operator approves; reject cancels")
    func approval() throws {
        let rule =
            "rule: r\nscope: { type: pump }\nwhen: vibration > 5\napproval: true\ndo:\n  - command: { name: stop }\n"
        var f = EngineFixture(rules: rule)
        f.send(["vibration": 6])
        #expect(f.published.isEmpty)
        #expect(f.decisions.contains(.approvalRequested))
        let held = try #require(f.engine.commands.list(state: .pendingApproval).first)
        let (approved, actions) = try f.engine.approveCommand(id: held.id, by: "alice", note: "ok", at: f.now)
        f.actions += actions
        #expect(approved.state == .sent)
        #expect(f.published.count == 1)
        #expect(f.decisions.contains(.approved))
        #expect(throws: AutomationError.self) {
            var e = f.engine
            _ = try e.approveCommand(id: held.id, by: "alice", note: nil, at: f.now)
        }

        f.send(["vibration": 1])
        f.send(["vibration": 7])
        let second = try #require(f.engine.commands.list(state: .pendingApproval).first)
        let (rejected, _) = try f.engine.rejectCommand(id: second.id, by: "bob", reason: "not now", at: f.now)
        #expect(rejected.state == .cancelled)
    }

    @Test("a score arriving before its telemetry batch does not fire a threshold rule without the batch")
    func scoreBeforeBatch() {
        var f = EngineFixture(
            rules: """
                rule: hot
                scope: { type: pump }
                when: temperature > 85
                do:
                  - command: { name: set_speed, params: { rpm: 900 } }
                interlocks: [ "pressure < 12" ]
                """
        )
        // Detection scored the reading first (the two streams race); the batch with the pressure
        // the interlock needs comes next.
        f.score("temperature", value: 91.5, score: 0.2)
        #expect(f.published.isEmpty)
        #expect(!f.decisions.contains(.suppressedInterlock))
        f.send(["temperature": 91.5, "pressure": 9.8])
        #expect(f.published.map(\.name) == ["set_speed"])
        #expect(!f.decisions.contains(.suppressedInterlock))
    }

    @Test("flapping: more than four raise/clear cycles in ten minutes marks the alarm")
    func flapping() {
        var f = EngineFixture(
            rules: "rule: r\nscope: { type: pump }\nwhen: vibration > 5\ndo:\n  - alarm: { type: shaking }\n"
        )
        for _ in 0..<5 {
            f.send(["vibration": 6])
            f.send(["vibration": 1])
            f.advance(10_000)
        }
        f.send(["vibration": 6])
        #expect(f.openAlarms.first?.flapping == true)
    }

    /// Raises `count` times, `spacing` ms apart (each followed by a clear), and returns whether the
    /// last alarm is marked flapping.
    static func flappingAfter(raises count: Int, spacing: Int64) -> Bool? {
        var f = EngineFixture(
            rules: "rule: r\nscope: { type: pump }\nwhen: vibration > 5\ndo:\n  - alarm: { type: shaking }\n"
        )
        for index in 0..<count {
            f.send(["vibration": 6])
            if index < count - 1 {
                f.send(["vibration": 1])
                f.advance(spacing)
            }
        }
        return f.openAlarms.first?.flapping
    }

    @Test("flapping: four raises in ten minutes are not flapping, the fifth is")
    func flappingThreshold() {
        #expect(Self.flappingAfter(raises: 4, spacing: 10_000) == false)
        #expect(Self.flappingAfter(raises: 5, spacing: 10_000) == true)
    }

    @Test("flapping: the ten-minute window excludes a raise exactly ten minutes old")
    func flappingWindowBoundary() {
        // Five raises; the first is 4 × spacing before the last.
        #expect(Self.flappingAfter(raises: 5, spacing: 150_000) == false)  // 600,000 ms: outside
        #expect(Self.flappingAfter(raises: 5, spacing: 149_999) == true)  // 599,996 ms: inside
        #expect(Self.flappingAfter(raises: 5, spacing: 600_000) == false)
    }

    @Test("alarm operator actions: acknowledge, shelve with expiry, notes, history")
    func alarmActions() throws {
        var f = EngineFixture(
            rules: "rule: r\nscope: { type: pump }\nwhen: vibration > 5\ndo:\n  - alarm: { type: shaking }\n"
        )
        f.send(["vibration": 6])
        let alarm = try #require(f.openAlarms.first)
        let (acked, _) = try f.engine.acknowledgeAlarm(id: alarm.id, by: "alice", note: "looking", at: f.now)
        #expect(acked.state == .acknowledged)
        #expect(acked.notes.first?.text == "looking")
        #expect(throws: AutomationError.conflict("alarm \(alarm.id) is acknowledged, not active")) {
            var e = f.engine
            _ = try e.acknowledgeAlarm(id: alarm.id, by: "alice", note: nil, at: f.now)
        }
        let (shelved, _) = try f.engine.shelveAlarm(
            id: alarm.id,
            until: f.now + 60_000,
            reason: "known",
            by: "alice",
            at: f.now
        )
        #expect(shelved.isShelved(at: f.now))
        f.advance(60_000)
        #expect(f.engine.alarms.alarm(id: alarm.id)?.shelvedUntil == nil)
        let (noted, _) = try f.engine.noteAlarm(id: alarm.id, text: "bearing replaced", by: "bob", at: f.now)
        #expect(noted.history.map(\.state) == ["active", "acknowledged", "shelved", "unshelved", "note"])
        #expect(throws: AutomationError.notFound("no alarm 'a99'")) {
            var e = f.engine
            _ = try e.noteAlarm(id: "a99", text: "x", by: "bob", at: f.now)
        }
    }

    @Test("only rules whose inputs the batch touches and whose scope contains the device are evaluated")
    func scopeAndIndex() {
        let rules = """
            rule: lyon
            scope: { labels: { site: lyon } }
            when: vibration > 5
            do:
              - alarm: { type: lyon }
            ---
            rule: other
            scope: { devices: [pump-2] }
            when: temperature > 5
            do:
              - alarm: { type: other }
            """
        var f = EngineFixture(rules: rules)
        f.send(["vibration": 6], device: EngineFixture.pump2)
        f.send(["temperature": 6], device: EngineFixture.pump1)
        #expect(f.openAlarms.isEmpty)
        f.send(["vibration": 6], device: EngineFixture.pump1)
        #expect(f.openAlarms.map(\.type) == ["lyon"])
    }

    @Test("rule versions: a changed file makes a new version; a broken change keeps the old version running")
    func versions() throws {
        var f = EngineFixture(
            rules: "rule: r\nscope: { type: pump }\nwhen: vibration > 5\ndo:\n  - alarm: { type: a }\n"
        )
        #expect(f.engine.rules[RuleID("r")]?.version == 1)
        _ = f.engine.loadFile(
            "rules/test.yaml",
            text: "rule: r\nscope: { type: pump }\nwhen: vibration > 6\ndo:\n  - alarm: { type: a }\n",
            at: f.now
        )
        #expect(f.engine.rules[RuleID("r")]?.version == 2)
        let (errors, _) = f.engine.loadFile(
            "rules/test.yaml",
            text: "rule: r\nscope: { type: pump }\nwhen: vibration >\ndo:\n  - alarm: { type: a }\n",
            at: f.now
        )
        #expect(errors.count == 1)
        let record = try #require(f.engine.rules[RuleID("r")])
        #expect(record.version == 2)
        #expect(record.rule != nil)
        #expect(record.errors.count == 1)
        f.send(["vibration": 7])
        #expect(f.openAlarms.count == 1)
        #expect(throws: AutomationError.self) {
            var e = f.engine
            _ = try e.putRule(RuleID("r"), text: "rule: r\n", at: f.now)
        }
    }
}
