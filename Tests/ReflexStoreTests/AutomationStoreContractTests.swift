import Foundation
import ReflexStore
import ReflexTestSupport
import Testing

extension StoreHome {
    /// An automation store on this home; a second call stands for the node after a restart.
    func automation() async throws -> any AutomationStateStore {
        switch backend {
        case .sqlite:
            try SQLiteAutomationStore(dataDirectory: directory)
        case .postgres:
            PostgresAutomationStore(database: try await openDatabase(PostgresAutomationSchema.migrations))
        }
    }
}

private func alarmJSON(_ id: String, _ state: String) -> String { #"{"id":"\#(id)","state":"\#(state)"}"# }

private func alarm(_ id: String, _ device: String, _ state: String, at: Int64) -> AutomationWrite {
    .alarm(id: id, device: device, state: state, raisedAt: at, json: alarmJSON(id, state))
}

private func command(_ id: String, _ device: String, _ state: String, at: Int64) -> AutomationWrite {
    .command(id: id, device: device, state: state, createdAt: at, json: #"{"id":"\#(id)","state":"\#(state)"}"#)
}

private func audit(_ id: Int64, at: Int64, device: String?, rule: String?) -> AutomationWrite {
    .audit(id: id, at: at, device: device, rule: rule, json: #"{"id":\#(id)}"#)
}

/// The automation store's contract, on every backend: every row kind written, read back and
/// pruned the same way.
@Suite("Automation store contract (SQLite and PostgreSQL)")
struct AutomationStoreContractTests {
    @Test("an empty store loads nothing and the first audit id is 1", arguments: Backend.available)
    func empty(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let rows = try await home.automation().load()
            #expect(rows.alarms.isEmpty && rows.commands.isEmpty && rows.overrides.isEmpty)
            #expect(rows.settings.isEmpty && rows.ruleVersions.isEmpty && rows.apiRules.isEmpty)
            #expect(rows.nextAuditID == 1)
        }
    }

    @Test("every row kind round-trips through load, also for the next instance", arguments: Backend.available)
    func everyKind(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.automation()
            let json = #"{"note":"ünïcode ✓","nested":{"a":[1,2]}}"#
            try await store.apply([
                alarm("a1", "pump-1", "active", at: 10),
                command("c1", "pump-1", "pending", at: 11),
                audit(41, at: 12, device: "pump-1", rule: "overheat"),
                .override(device: "pump-1", json: json),
                .override(device: "pump-2", json: "{}"),
                .setting(key: "autonomy", json: #"{"enabled":true}"#),
                .ruleVersion(rule: "overheat", version: 1, source: "file", text: "v1", at: 13),
                .ruleVersion(rule: "overheat", version: 2, source: "api", text: "v2", at: 14),
                .ruleVersion(rule: "leak", version: 1, source: "file", text: "leak v1", at: 15),
                .apiRule(rule: "made-by-api", text: "rule text"),
                .apiRule(rule: "gone", text: "x"),
            ])
            try await store.apply([
                .override(device: "pump-2", json: nil),
                .apiRule(rule: "gone", text: nil),
                .setting(key: "autonomy", json: #"{"enabled":false}"#),
                .ruleVersion(rule: "overheat", version: 2, source: "file", text: "not kept", at: 16),
            ])
            for instance in [store, try await home.automation()] {
                let rows = try await instance.load()
                #expect(rows.alarms == [alarmJSON("a1", "active")])
                #expect(rows.commands == [#"{"id":"c1","state":"pending"}"#])
                #expect(rows.overrides == [json])
                #expect(rows.settings == ["autonomy": #"{"enabled":false}"#])
                #expect(rows.nextAuditID == 42)
                #expect(
                    rows.ruleVersions.sorted { $0.rule < $1.rule }.map { "\($0.rule) \($0.version) \($0.text)" } == [
                        "leak 1 leak v1", "overheat 2 v2",
                    ]
                )
                #expect(rows.apiRules.map { "\($0.rule)=\($0.text)" } == ["made-by-api=rule text"])
                #expect(try await instance.alarm(id: "a1") == alarmJSON("a1", "active"))
                #expect(try await instance.command(id: "c1") == #"{"id":"c1","state":"pending"}"#)
                #expect(try await instance.alarm(id: "nope") == nil)
                #expect(try await instance.command(id: "nope") == nil)
            }
        }
    }

    @Test("an alarm or command written again replaces its row", arguments: Backend.available)
    func replace(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.automation()
            try await store.apply([alarm("a1", "d", "active", at: 1), command("c1", "d", "pending", at: 1)])
            try await store.apply([alarm("a1", "d", "cleared", at: 1), command("c1", "d", "verified", at: 1)])
            #expect(try await store.alarm(id: "a1") == alarmJSON("a1", "cleared"))
            #expect(try await store.alarms(state: "active", device: nil, limit: 10).isEmpty)
            #expect(try await store.commands(device: nil, state: "verified", limit: 10).count == 1)
        }
    }

    @Test("load hands back cleared alarms then open ones, and commands, oldest first", arguments: Backend.available)
    func loadOrder(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.automation()
            try await store.apply([
                alarm("open-late", "d", "active", at: 30),
                alarm("cleared-late", "d", "cleared", at: 20),
                alarm("cleared-early", "d", "cleared", at: 5),
                command("c-late", "d", "pending", at: 9),
                command("c-early", "d", "verified", at: 3),
            ])
            let rows = try await store.load()
            #expect(
                rows.alarms == [
                    alarmJSON("cleared-early", "cleared"), alarmJSON("cleared-late", "cleared"),
                    alarmJSON("open-late", "active"),
                ]
            )
            #expect(rows.commands == [#"{"id":"c-early","state":"verified"}"#, #"{"id":"c-late","state":"pending"}"#])
        }
    }

    @Test("alarms filter by state and device, newest first, limited", arguments: Backend.available)
    func alarmQueries(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.automation()
            try await store.apply([
                alarm("a1", "pump-1", "active", at: 1),
                alarm("a2", "pump-1", "acknowledged", at: 2),
                alarm("a3", "pump-2", "cleared", at: 3),
                alarm("a4", "pump-2", "active", at: 4),
            ])
            func ids(_ state: String, _ device: String? = nil, limit: Int = 10) async throws -> [String] {
                try await store.alarms(state: state, device: device, limit: limit).map {
                    String($0.dropFirst(7).prefix(2))
                }
            }
            #expect(try await ids("open") == ["a4", "a2", "a1"])
            #expect(try await ids("all") == ["a4", "a3", "a2", "a1"])
            #expect(try await ids("active") == ["a4", "a1"])
            #expect(try await ids("cleared") == ["a3"])
            #expect(try await ids("acknowledged", "pump-2").isEmpty)
            #expect(try await ids("all", "pump-1") == ["a2", "a1"])
            #expect(try await ids("all", limit: 2) == ["a4", "a3"])
        }
    }

    @Test("commands filter by device and state, newest first, limited", arguments: Backend.available)
    func commandQueries(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.automation()
            try await store.apply([
                command("c1", "pump-1", "pending", at: 1),
                command("c2", "pump-2", "pending", at: 2),
                command("c3", "pump-1", "verified", at: 3),
            ])
            func ids(_ device: String?, _ state: String?, limit: Int = 10) async throws -> [String] {
                try await store.commands(device: device, state: state, limit: limit).map {
                    String($0.dropFirst(7).prefix(2))
                }
            }
            #expect(try await ids(nil, nil) == ["c3", "c2", "c1"])
            #expect(try await ids("pump-1", nil) == ["c3", "c1"])
            #expect(try await ids(nil, "pending") == ["c2", "c1"])
            #expect(try await ids("pump-1", "pending") == ["c1"])
            #expect(try await ids(nil, nil, limit: 1) == ["c3"])
        }
    }

    @Test("audit pages newest first by id, filtered by device and rule", arguments: Backend.available)
    func auditQueries(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.automation()
            var entries: [AutomationWrite] = []
            for id: Int64 in 1...7 {
                let device: String? = id % 2 == 0 ? "even" : nil
                let rule: String? = id < 4 ? "r" : nil
                entries.append(audit(id, at: id, device: device, rule: rule))
            }
            try await store.apply(entries)
            func ids(_ device: String?, _ rule: String?, limit: Int, before: Int64?) async throws -> [String] {
                try await store.audit(device: device, rule: rule, limit: limit, before: before)
            }
            #expect(try await ids(nil, nil, limit: 3, before: nil) == [#"{"id":7}"#, #"{"id":6}"#, #"{"id":5}"#])
            #expect(try await ids(nil, nil, limit: 3, before: 5) == [#"{"id":4}"#, #"{"id":3}"#, #"{"id":2}"#])
            #expect(try await ids("even", nil, limit: 10, before: nil) == [#"{"id":6}"#, #"{"id":4}"#, #"{"id":2}"#])
            #expect(try await ids(nil, "r", limit: 10, before: 3) == [#"{"id":2}"#, #"{"id":1}"#])
            #expect(try await ids("even", "r", limit: 10, before: nil) == [#"{"id":2}"#])
        }
    }

    @Test(
        "opening again migrates nothing and keeps the rows; a database from a newer build is refused",
        arguments: Backend.available
    )
    func migrations(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            try await home.automation().apply([.setting(key: "autonomy", json: "{}")])
            #expect(try await home.automation().load().settings == ["autonomy": "{}"])
            if backend == .postgres {
                #expect(try home.psql("SELECT count(*) FROM reflex_migrations WHERE name LIKE 'automation %'") == "1\n")
            }
            try await home.plantNewerMigration(
                "automation v99: from the future",
                sqliteFile: SQLiteAutomationStore.fileName,
                postgresSchema: PostgresAutomationSchema.migrations
            )
            let error = await #expect(throws: (any Error).self) { _ = try await home.automation() }
            let message = error.map { String(describing: $0) } ?? ""
            #expect(message.contains("'automation v99: from the future'") && message.contains("newer Reflex"))
        }
    }

    @Test(
        "prune removes old audit, old cleared alarms and old finished commands, and counts the audit",
        arguments: Backend.available
    )
    func prune(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let store = try await home.automation()
            try await store.apply([
                audit(1, at: 10, device: nil, rule: nil),
                audit(2, at: 20, device: nil, rule: nil),
                audit(3, at: 100, device: nil, rule: nil),
                alarm("old-cleared", "d", "cleared", at: 10),
                alarm("old-active", "d", "active", at: 10),
                alarm("new-cleared", "d", "cleared", at: 100),
                command("old-done", "d", "verified", at: 10),
                command("old-rejected", "d", "rejected", at: 10),
                command("old-pending", "d", "pending", at: 10),
                command("new-done", "d", "failed", at: 100),
            ])
            #expect(try await store.prune(before: 50) == 2)
            #expect(try await store.audit(device: nil, rule: nil, limit: 10, before: nil) == [#"{"id":3}"#])
            #expect(
                try await store.alarms(state: "all", device: nil, limit: 10) == [
                    alarmJSON("new-cleared", "cleared"), alarmJSON("old-active", "active"),
                ]
            )
            #expect(
                try await store.commands(device: nil, state: nil, limit: 10).map { String($0.dropFirst(7)) }.sorted()
                    == [
                        #"new-done","state":"failed"}"#, #"old-pending","state":"pending"}"#,
                    ]
            )
            #expect(try await store.prune(before: 50) == 0)
            #expect(try await store.load().nextAuditID == 4)
        }
    }
}

/// What only the PostgreSQL automation store has: all-or-nothing batches seen from the database.
@Suite("PostgreSQL automation store", .enabled(if: PostgresTestSupport.enabled))
struct PostgresAutomationStoreTests {
    @Test("a batch that fails part-way leaves nothing of itself")
    func failedBatchAppliesNothing() async throws {
        try await withStoreHome(.postgres) { home in
            let store = try await home.automation()
            await #expect(throws: (any Error).self) {
                try await store.apply([alarm("a1", "d", "active", at: 1), .setting(key: "bad\u{0}", json: "{}")])
            }
            #expect(try await store.alarm(id: "a1") == nil)
        }
    }
}
