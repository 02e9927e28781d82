import ReflexAutomation
import ReflexCore
import Testing

@Suite struct CommandLifecycleTests {
    static let rule = """
        rule: slow
        scope: { type: pump }
        when: vibration > 5
        do:
          - command: { name: set_speed, params: { rpm: 1200 }, ttl: 5m, verify: { when: "speed < 1300", within: 60s } }
        """

    @Test("sent → delivered → accepted → done → verified by telemetry")
    func happyPath() throws {
        var f = EngineFixture(rules: Self.rule)
        f.send(["vibration": 6])
        let sent = try #require(f.published.first)
        f.actions += f.engine.handle(.commandPublished(id: sent.id, subscribers: 1), at: f.now)
        #expect(f.engine.commands.commands[sent.id]?.state == .delivered)
        f.actions += f.engine.handle(
            .commandAck(EngineFixture.pump1, name: "set_speed", CommandAck(id: sent.id, status: .accepted)),
            at: f.now
        )
        f.actions += f.engine.handle(
            .commandAck(EngineFixture.pump1, name: "set_speed", CommandAck(id: sent.id, status: .done)),
            at: f.now
        )
        #expect(f.engine.commands.commands[sent.id]?.state == .done)
        f.send(["speed": 1250])
        let verified = try #require(f.engine.commands.commands[sent.id])
        #expect(verified.state == .verified)
        #expect(verified.history.map(\.state) == [.queued, .sent, .delivered, .accepted, .done, .verified])
        #expect(f.audits.filter { $0.decision == .commandOutcome }.last?.outcome == "verified")
    }

    @Test("a post-condition that does not hold in time fails the command")
    func verificationTimeout() throws {
        var f = EngineFixture(rules: Self.rule)
        f.send(["vibration": 6])
        let sent = try #require(f.published.first)
        f.actions += f.engine.handle(
            .commandAck(EngineFixture.pump1, name: "set_speed", CommandAck(id: sent.id, status: .done)),
            at: f.now
        )
        f.send(["speed": 2000])
        f.advance(60_000)
        let failed = try #require(f.engine.commands.commands[sent.id])
        #expect(failed.state == .failed)
        #expect(failed.detail == "verification 'speed < 1300' did not hold within 1m")
    }

    @Test("no ack: retried with backoff, then failed after the last attempt")
    func retries() throws {
        var f = EngineFixture(rules: Self.rule, ackTimeout: 1_000)
        f.send(["vibration": 6])
        let id = try #require(f.published.first?.id)
        f.advance(1_000)  // lost: back to queued, retry after 1 s
        #expect(f.engine.commands.commands[id]?.state == .queued)
        f.advance(1_000)  // second attempt, deadline 2 s
        #expect(f.engine.commands.commands[id]?.attempts == 2)
        f.advance(2_000)
        f.advance(2_000)  // third attempt, deadline 4 s
        #expect(f.engine.commands.commands[id]?.attempts == 3)
        f.advance(4_000)
        #expect(f.engine.commands.commands[id]?.state == .failed)
        #expect(f.published.count == 3)
    }

    @Test("queued while the device is offline, sent when it comes back; expired after the TTL")
    func offline() throws {
        var f = EngineFixture(rules: Self.rule)
        f.actions += f.engine.handle(.deviceStatus(EngineFixture.pump1, online: false), at: f.now)
        let (command, actions) = try f.engine.sendCommand(
            device: EngineFixture.pump1,
            name: "stop",
            params: [:],
            ttl: 60_000,
            idempotencyKey: "k1",
            by: "alice",
            at: f.now
        )
        f.actions += actions
        #expect(command.state == .queued)
        #expect(f.published.isEmpty)
        f.advance(30_000)
        f.actions += f.engine.handle(.deviceStatus(EngineFixture.pump1, online: true), at: f.now)
        #expect(f.published.map(\.id) == [command.id])

        f.actions += f.engine.handle(.deviceStatus(EngineFixture.pump1, online: false), at: f.now)
        let (late, _) = try f.engine.sendCommand(
            device: EngineFixture.pump1,
            name: "stop",
            params: [:],
            ttl: 10_000,
            idempotencyKey: nil,
            by: "alice",
            at: f.now
        )
        f.advance(10_000)
        #expect(f.engine.commands.commands[late.id]?.state == .expired)
    }

    @Test("idempotency keys return the same command")
    func idempotency() throws {
        var f = EngineFixture(rules: Self.rule)
        let (a, _) = try f.engine.sendCommand(
            device: EngineFixture.pump1,
            name: "stop",
            params: [:],
            ttl: nil,
            idempotencyKey: "once",
            by: "alice",
            at: f.now
        )
        let (b, actions) = try f.engine.sendCommand(
            device: EngineFixture.pump1,
            name: "stop",
            params: [:],
            ttl: nil,
            idempotencyKey: "once",
            by: "alice",
            at: f.now
        )
        #expect(a.id == b.id)
        #expect(actions.isEmpty)
        #expect(throws: AutomationError.self) {
            var e = f.engine
            _ = try e.sendCommand(
                device: EngineFixture.pump2,
                name: "stop",
                params: [:],
                ttl: nil,
                idempotencyKey: "once",
                by: "alice",
                at: f.now
            )
        }
    }

    @Test("a device's rejection is final and audited")
    func rejected() throws {
        var f = EngineFixture(rules: Self.rule)
        f.send(["vibration": 6])
        let id = try #require(f.published.first?.id)
        f.actions += f.engine.handle(
            .commandAck(
                EngineFixture.pump1,
                name: "set_speed",
                CommandAck(id: id, status: .rejected, detail: "interlocked locally")
            ),
            at: f.now
        )
        #expect(f.engine.commands.commands[id]?.state == .rejected)
        #expect(f.audits.last?.summary.contains("rejected (interlocked locally)") == true)
        // An ack from another device for this id is ignored.
        #expect(
            f.engine.handle(
                .commandAck(EngineFixture.pump2, name: "set_speed", CommandAck(id: id, status: .done)),
                at: f.now
            ).isEmpty
        )
    }
}

@Suite struct FailSafeTests {
    static let policy = FailSafePolicy(
        deviceType: "pump",
        command: "set_speed",
        params: ["rpm": .number(900)],
        staleFactor: 3,
        minimumStale: 5_000
    )
    static let noRules = "rule: idle\nscope: { type: none }\nwhen: x > 1\ndo:\n  - alarm: { type: x }\n"

    @Test("stale inputs (no telemetry for N × the learned cadence) apply the safe state; fresh data releases it")
    func stale() throws {
        var f = EngineFixture(rules: Self.noRules, failSafes: [Self.policy])
        for _ in 0..<5 {
            f.send(["temperature": 70])
            f.advance(2_000)
        }
        #expect(f.published.isEmpty)
        f.advance(4_000)  // 6 s silent: not more than 3 × the 2 s cadence
        #expect(f.published.isEmpty)
        f.advance(1_000)
        let command = try #require(f.published.first)
        #expect(command.name == "set_speed")
        #expect(command.params == ["rpm": .number(900)])
        #expect(command.origin == "fail-safe")
        #expect(f.engine.failSafeState(of: EngineFixture.pump1).reason?.hasPrefix("stale") == true)
        f.send(["temperature": 70])
        #expect(f.engine.failSafeState(of: EngineFixture.pump1).active == false)
        #expect(f.audits.last?.summary.contains("released") == true)
    }

    @Test("going offline applies the safe state (queued until the device is back)")
    func offline() throws {
        var f = EngineFixture(rules: Self.noRules, failSafes: [Self.policy])
        f.actions += f.engine.handle(.deviceStatus(EngineFixture.pump1, online: true), at: f.now)
        f.actions += f.engine.handle(.deviceStatus(EngineFixture.pump1, online: false), at: f.now)
        #expect(f.decisions.contains(.failSafe))
        #expect(f.published.isEmpty)
        f.actions += f.engine.handle(.deviceStatus(EngineFixture.pump1, online: true), at: f.now)
        #expect(f.published.first?.origin == "fail-safe")
    }

    @Test("an unhealthy detector (data-quality event) applies the safe state, unless the device is in manual")
    func unhealthy() throws {
        var f = EngineFixture(rules: Self.noRules, failSafes: [Self.policy])
        let series = SeriesKey(device: EngineFixture.pump1, metric: MetricName(unchecked: "temperature"))
        let event = DataQualityEvent(
            series: series,
            kind: .flatline,
            timestamp: f.now,
            isActive: true,
            detail: "stuck at 71.2"
        )
        f.actions += f.engine.handle(.analytics(.dataQuality(event)), at: f.now)
        #expect(f.published.first?.origin == "fail-safe")
        #expect(f.audits.first { $0.decision == .failSafe }?.summary.contains("flatline on temperature") == true)

        var g = EngineFixture(rules: Self.noRules, failSafes: [Self.policy])
        _ = g.engine.setOverride(device: EngineFixture.pump1, reason: "manual test", until: nil, by: "alice", at: g.now)
        g.actions += g.engine.handle(.analytics(.dataQuality(event)), at: g.now)
        #expect(g.published.isEmpty)
        #expect(g.decisions.contains(.suppressedOverride))
    }

    @Test("a change of reporting rate or a clock step is not unhealthy: a backfill does not apply the safe state")
    func timingIsNotUnhealthy() throws {
        let series = SeriesKey(device: EngineFixture.pump1, metric: MetricName(unchecked: "temperature"))
        for kind in [DataQualityEvent.Kind.rateChange, .timestampRegression] {
            var f = EngineFixture(rules: Self.noRules, failSafes: [Self.policy])
            let event = DataQualityEvent(series: series, kind: kind, timestamp: f.now, isActive: true, detail: "")
            f.actions += f.engine.handle(.analytics(.dataQuality(event)), at: f.now)
            #expect(f.published.isEmpty, "\(kind)")
            #expect(!f.decisions.contains(.failSafe), "\(kind)")
        }
    }

    @Test("the safe state is released when the last suspect condition ends, whatever timing conditions remain")
    func unhealthyReleased() throws {
        var f = EngineFixture(rules: Self.noRules, failSafes: [Self.policy])
        let series = SeriesKey(device: EngineFixture.pump1, metric: MetricName(unchecked: "temperature"))
        func event(_ kind: DataQualityEvent.Kind, active: Bool) -> AutomationEvent {
            .analytics(
                .dataQuality(DataQualityEvent(series: series, kind: kind, timestamp: 0, isActive: active, detail: ""))
            )
        }
        f.actions += f.engine.handle(event(.rateChange, active: true), at: f.now)
        f.actions += f.engine.handle(event(.flatline, active: true), at: f.now)
        #expect(f.decisions.filter { $0 == .failSafe }.count == 1)
        f.actions += f.engine.handle(event(.flatline, active: false), at: f.now)
        #expect(f.audits.contains { $0.summary.contains("data quality recovered") })
    }
}
