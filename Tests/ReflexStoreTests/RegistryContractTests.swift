import Foundation
import ReflexCore
import ReflexStore
import ReflexTestSupport
import Testing

extension StoreHome {
    /// A registry instance on this home: a second call stands for another process (the CLI).
    func registry() async throws -> (store: any RegistryStore, counters: RegistryCounters) {
        switch backend {
        case .sqlite:
            let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
            return (registry, registry.counters)
        case .postgres:
            let registry = PostgresDeviceRegistry(database: try await openDatabase(PostgresRegistrySchema.migrations))
            return (registry, registry.counters)
        }
    }
}

/// The device registry's contract, on every backend: what `reflex serve` and `reflex device`
/// rely on whichever database is behind them.
@Suite("Registry contract (SQLite and PostgreSQL)")
struct RegistryContractTests {
    @Test("an added device is listed, shown and authenticates with its token", arguments: Backend.available)
    func addShowAuthenticate(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let id = try deviceID("pump-7")
            let (device, token) = try await registry.addDevice(
                id: id,
                name: "Pump 7",
                type: "pump",
                labels: ["site": "plant-1", "zone": "b"]
            )
            #expect(token.hasPrefix("rfx_dev_"))
            #expect(token.count == "rfx_dev_".count + 43)
            #expect(device.name == "Pump 7" && device.type == "pump" && device.isEnabled)
            #expect(device.labels == ["site": "plant-1", "zone": "b"])
            #expect(device.createdAt != nil && device.tokenRotatedAt == nil)
            #expect(try await registry.device(id) == device)
            #expect(try await registry.devices(type: nil, label: nil) == [device])
            #expect(try await registry.authenticate(device: id, token: token) == device)
            #expect(try await registry.verify(device: id, token: token) == .accepted(device))
        }
    }

    @Test("name and type default to the id and generic; an empty label key is refused", arguments: Backend.available)
    func defaults(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let (device, _) = try await registry.addDevice(id: try deviceID("s1"), name: nil, type: "", labels: [:])
            #expect(device.name == "s1" && device.type == "generic" && device.labels.isEmpty)
            let error = await #expect(throws: RegistryError.self) {
                try await registry.addDevice(id: try deviceID("x"), name: nil, type: nil, labels: ["": "v"])
            }
            #expect(error?.code == .invalidArgument)
            #expect(try await registry.device(try deviceID("x")) == nil)
        }
    }

    @Test("adding an id twice fails and keeps the first token", arguments: Backend.available)
    func duplicate(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let id = try deviceID("pump-7")
            let (_, token) = try await registry.addDevice(id: id, name: nil, type: nil, labels: [:])
            let error = await #expect(throws: RegistryError.self) {
                try await registry.addDevice(id: id, name: nil, type: nil, labels: [:])
            }
            #expect(error?.code == .deviceExists)
            #expect(error?.message.contains("'pump-7' is already registered") == true)
            #expect(try await registry.authenticate(device: id, token: token) != nil)
        }
    }

    @Test("list filters by type and by label, sorted by id in byte order", arguments: Backend.available)
    func filters(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            _ = try await registry.addDevice(id: try deviceID("b"), name: nil, type: "pump", labels: ["site": "x"])
            _ = try await registry.addDevice(id: try deviceID("a"), name: nil, type: "pump", labels: ["site": "y"])
            _ = try await registry.addDevice(id: try deviceID("c"), name: nil, type: "fan", labels: ["site": "x"])
            _ = try await registry.addDevice(id: try deviceID("B"), name: nil, type: "fan", labels: [:])
            _ = try await registry.addDevice(id: try deviceID("a_1"), name: nil, type: "fan", labels: [:])
            _ = try await registry.addDevice(id: try deviceID("a-1"), name: nil, type: "fan", labels: [:])
            #expect(
                try await registry.devices(type: nil, label: nil).map(\.id.rawValue) == [
                    "B", "a", "a-1", "a_1", "b", "c",
                ]
            )
            #expect(try await registry.devices(type: "pump", label: nil).map(\.id.rawValue) == ["a", "b"])
            #expect(try await registry.devices(type: nil, label: ("site", "x")).map(\.id.rawValue) == ["b", "c"])
            #expect(try await registry.devices(type: "pump", label: ("site", "x")).map(\.id.rawValue) == ["b"])
            #expect(try await registry.devices(type: "valve", label: nil).isEmpty)
        }
    }

    @Test("an unknown device is nil, unknown, and cannot be changed", arguments: Backend.available)
    func unknown(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let id = try deviceID("ghost")
            #expect(try await registry.device(id) == nil)
            #expect(try await registry.verify(device: id, token: "rfx_dev_x") == .unknownDevice)
            #expect(try await registry.credentialState(of: id) == nil)
            let disable = await #expect(throws: RegistryError.self) { try await registry.setEnabled(id, false) }
            #expect(disable?.code == .deviceNotFound)
            let rotate = await #expect(throws: RegistryError.self) { try await registry.rotateToken(id) }
            #expect(rotate?.code == .deviceNotFound)
        }
    }

    @Test("a wrong token, another device's token or an empty one is refused", arguments: Backend.available)
    func wrongTokens(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let a = try deviceID("a")
            let (_, tokenA) = try await registry.addDevice(id: a, name: nil, type: nil, labels: [:])
            let (_, tokenB) = try await registry.addDevice(id: try deviceID("b"), name: nil, type: nil, labels: [:])
            for wrong in [tokenB, "", String(tokenA.dropLast()), tokenA + "x", tokenA.uppercased()] {
                #expect(try await registry.authenticate(device: a, token: wrong) == nil)
                #expect(try await registry.verify(device: a, token: wrong) == .wrongToken)
            }
        }
    }

    @Test("a disabled device is refused with its right token, and enabled again", arguments: Backend.available)
    func disable(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let id = try deviceID("pump-7")
            let (_, token) = try await registry.addDevice(id: id, name: nil, type: nil, labels: [:])
            #expect(try await registry.authenticate(device: id, token: token) != nil)  // now cached
            try await registry.setEnabled(id, false)
            #expect(try await registry.device(id)?.isEnabled == false)
            #expect(try await registry.authenticate(device: id, token: token) == nil)
            guard case .disabled = try await registry.verify(device: id, token: token) else {
                Issue.record("expected .disabled")
                return
            }
            try await registry.setEnabled(id, true)
            #expect(try await registry.authenticate(device: id, token: token) != nil)
        }
    }

    @Test(
        "rotating a token makes the old one fail, the new one work, and moves the fingerprint only then",
        arguments: Backend.available
    )
    func rotate(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let id = try deviceID("pump-7")
            let (_, old) = try await registry.addDevice(id: id, name: nil, type: nil, labels: [:])
            let check = try await registry.verifyCredential(device: id, token: old)
            let state = try #require(try await registry.credentialState(of: id))
            #expect(check.tokenFingerprint == state.tokenFingerprint)
            try await registry.setEnabled(id, false)
            #expect(
                try await registry.credentialState(of: id)
                    == DeviceCredentialState(
                        isEnabled: false,
                        tokenFingerprint: state.tokenFingerprint
                    )
            )
            try await registry.setEnabled(id, true)
            let new = try await registry.rotateToken(id)
            #expect(new != old && new.hasPrefix("rfx_dev_"))
            #expect(try await registry.authenticate(device: id, token: old) == nil)
            #expect(try await registry.authenticate(device: id, token: new) != nil)
            #expect(try await registry.device(id)?.tokenRotatedAt != nil)
            let rotated = try #require(try await registry.credentialState(of: id))
            #expect(rotated.tokenFingerprint != state.tokenFingerprint)
            #expect(try await registry.allCredentialStates() == [id: rotated])
        }
    }

    @Test(
        "operator tokens: created, verified, listed, revoked (twice is fine), unknown ids refused",
        arguments: Backend.available
    )
    func operatorTokens(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let (alice, aliceToken) = try await registry.createOperatorToken(name: "alice", role: .operator)
            let (grafana, grafanaToken) = try await registry.createOperatorToken(name: "grafana", role: .viewer)
            #expect(aliceToken.hasPrefix("rfx_op_") && alice.role == .operator && !alice.isRevoked)
            #expect(alice.id != grafana.id)
            #expect(try await registry.verifyOperatorToken(aliceToken) == alice)
            #expect(try await registry.verifyOperatorToken(grafanaToken) == grafana)
            #expect(try await registry.verifyOperatorToken("rfx_op_guess") == nil)
            #expect(try await registry.verifyOperatorToken("not-a-token") == nil)
            #expect(try await registry.currentOperatorToken(id: alice.id) == alice)
            #expect(try await registry.operatorTokens() == [alice, grafana])

            try await registry.revokeOperatorToken(id: alice.id)
            try await registry.revokeOperatorToken(id: alice.id)
            #expect(try await registry.verifyOperatorToken(aliceToken) == nil)
            #expect(try await registry.currentOperatorToken(id: alice.id) == nil)
            #expect(try await registry.verifyOperatorToken(grafanaToken) == grafana)
            var revoked = alice
            revoked.isRevoked = true
            #expect(try await registry.operatorTokens() == [revoked, grafana])

            let missing = await #expect(throws: RegistryError.self) { try await registry.revokeOperatorToken(id: 999) }
            #expect(missing?.code == .operatorTokenNotFound)
            let blank = await #expect(throws: RegistryError.self) {
                try await registry.createOperatorToken(name: "  ", role: .admin)
            }
            #expect(blank?.code == .invalidArgument)
        }
    }

    @Test(
        "the initial admin token is made once, even by concurrent callers, and again after revocation",
        arguments: Backend.available
    )
    func ensureAdmin(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            var registries: [any RegistryStore] = []
            for _ in 0..<4 { registries.append(try await home.registry().store) }
            let created = try await withThrowingTaskGroup(of: String?.self) { group in
                for registry in registries { group.addTask { try await registry.ensureAdminToken() } }
                return try await group.reduce(into: [String]()) { if let token = $1 { $0.append(token) } }
            }
            #expect(created.count == 1)
            let secret = try #require(created.first)
            let admin = try #require(try await registries[0].verifyOperatorToken(secret))
            #expect(admin.name == OperatorToken.initialAdminName && admin.role == .admin)
            #expect(try await registries[1].ensureAdminToken() == nil)
            try await registries[2].revokeOperatorToken(id: admin.id)
            #expect(try await registries[3].ensureAdminToken() != nil)
        }
    }

    // MARK: - Another process's changes

    @Test(
        "a device added by another process authenticates at once, though its absence was cached",
        arguments: Backend.available
    )
    func addedElsewhere(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (server, _) = try await home.registry()
            let id = try deviceID("late")
            #expect(try await server.verify(device: id, token: "rfx_dev_x") == .unknownDevice)
            #expect(try await server.verify(device: id, token: "rfx_dev_x") == .unknownDevice)
            let (cli, _) = try await home.registry()
            let (_, token) = try await cli.addDevice(id: id, name: nil, type: nil, labels: [:])
            #expect(try await server.authenticate(device: id, token: token) != nil)
            #expect(try await server.devices(type: nil, label: nil).map(\.id) == [id])
        }
    }

    @Test(
        "disable, enable and rotation by another process apply to the next check of a cached device",
        arguments: Backend.available
    )
    func changedElsewhere(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (server, _) = try await home.registry()
            let id = try deviceID("pump-7")
            let (_, token) = try await server.addDevice(id: id, name: nil, type: nil, labels: [:])
            #expect(try await server.authenticate(device: id, token: token) != nil)
            let generation = try await server.changeGeneration()
            #expect(try await server.changeGeneration() == generation)  // nothing changed
            let (cli, _) = try await home.registry()
            try await cli.setEnabled(id, false)
            #expect(try await server.changeGeneration() != generation)
            guard case .disabled = try await server.verify(device: id, token: token) else {
                Issue.record("a device disabled elsewhere was still accepted")
                return
            }
            #expect(try await server.allCredentialStates()[id]?.isEnabled == false)
            try await cli.setEnabled(id, true)
            #expect(try await server.authenticate(device: id, token: token) != nil)
            let new = try await cli.rotateToken(id)
            #expect(try await server.authenticate(device: id, token: token) == nil)
            #expect(try await server.authenticate(device: id, token: new) != nil)
        }
    }

    @Test(
        "an operator token revoked by another process is refused at once and the generation moves",
        arguments: Backend.available
    )
    func revokedElsewhere(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (server, _) = try await home.registry()
            let (record, token) = try await server.createOperatorToken(name: "ops", role: .admin)
            #expect(try await server.verifyOperatorToken(token) == record)
            let generation = try await server.changeGeneration()
            let (cli, _) = try await home.registry()
            let (other, otherToken) = try await cli.createOperatorToken(name: "ci", role: .viewer)
            #expect(try await server.verifyOperatorToken(otherToken) == other)
            try await cli.revokeOperatorToken(id: record.id)
            #expect(try await server.changeGeneration() != generation)
            #expect(try await server.verifyOperatorToken(token) == nil)
            #expect(try await server.currentOperatorToken(id: record.id) == nil)
        }
    }

    // MARK: - Cost

    @Test(
        "repeated checks of a known device read its row once; a flood of one unknown id reads once",
        arguments: Backend.available
    )
    func cachedChecks(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (server, counters) = try await home.registry()
            let id = try deviceID("pump-7")
            let (_, token) = try await server.addDevice(id: id, name: nil, type: nil, labels: [:])
            _ = try await server.authenticate(device: id, token: token)
            var before = counters.values
            for _ in 0..<100 { #expect(try await server.authenticate(device: id, token: token) != nil) }
            var after = counters.values
            #expect(after.databaseReads == before.databaseReads)
            #expect(after.tokenHashes - before.tokenHashes == 100)
            #expect(after.changeChecks - before.changeChecks == 100)

            let nobody = try deviceID("nobody")
            before = counters.values
            for _ in 0..<300 {
                #expect(try await server.verify(device: nobody, token: "rfx_dev_guess") == .unknownDevice)
            }
            after = counters.values
            #expect(after.databaseReads - before.databaseReads == 1)
            #expect(after.tokenHashes == before.tokenHashes)
        }
    }

    @Test(
        "an operator token check hashes once per stored candidate, not once per stored token",
        arguments: Backend.available
    )
    func operatorTokenLookup(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (server, counters) = try await home.registry()
            var tokens: [String] = []
            for n in 0..<10 {
                tokens.append(try await server.createOperatorToken(name: "t\(n)", role: .viewer).token)
            }
            _ = try await server.verifyOperatorToken(tokens[0])  // loads the index
            let before = counters.values
            for token in tokens { #expect(try await server.verifyOperatorToken(token) != nil) }
            for n in 0..<50 { #expect(try await server.verifyOperatorToken("rfx_op_guess\(n)") == nil) }
            let after = counters.values
            #expect(after.tokenHashes - before.tokenHashes == 10 * 2 + 50)
            #expect(after.databaseReads == before.databaseReads)
        }
    }

    // MARK: - Storage

    @Test(
        "opening again migrates nothing and keeps the data; a database from a newer build is refused",
        arguments: Backend.available
    )
    func migrations(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (first, _) = try await home.registry()
            let (device, token) = try await first.addDevice(id: try deviceID("a"), name: nil, type: nil, labels: [:])
            let (second, _) = try await home.registry()
            #expect(try await second.authenticate(device: device.id, token: token) == device)
            if backend == .postgres {
                #expect(try home.psql("SELECT count(*) FROM reflex_migrations WHERE name LIKE 'registry %'") == "1\n")
            }
            try await home.plantNewerMigration(
                "registry v99: from the future",
                sqliteFile: SQLiteDeviceRegistry.fileName,
                postgresSchema: PostgresRegistrySchema.migrations
            )
            let error = await #expect(throws: (any Error).self) { _ = try await home.registry() }
            let message = error.map { String(describing: $0) } ?? ""
            #expect(message.contains("'registry v99: from the future'") && message.contains("newer Reflex"))
        }
    }

    @Test("data survives reopening", arguments: Backend.available)
    func reopen(_ backend: Backend) async throws {
        try await withStoreHome(backend) { home in
            let (registry, _) = try await home.registry()
            let id = try deviceID("pump-7")
            let (device, token) = try await registry.addDevice(id: id, name: nil, type: nil, labels: ["a": "b"])
            let (operatorRecord, operatorToken) = try await registry.createOperatorToken(name: "alice", role: .admin)
            let (reopened, _) = try await home.registry()
            #expect(try await reopened.device(id) == device)
            #expect(try await reopened.authenticate(device: id, token: token) == device)
            #expect(try await reopened.verifyOperatorToken(operatorToken) == operatorRecord)
        }
    }
}

/// What only the PostgreSQL registry has: its tables, read with psql, and its migrations.
@Suite("PostgreSQL registry", .enabled(if: PostgresTestSupport.enabled))
struct PostgresRegistryTests {
    @Test("the tables hold no token, only salted hashes")
    func tokensNotStored() async throws {
        try await withStoreHome(.postgres) { home in
            let (registry, _) = try await home.registry()
            let id = try deviceID("pump-7")
            let (_, deviceToken) = try await registry.addDevice(id: id, name: nil, type: nil, labels: [:])
            let (_, operatorToken) = try await registry.createOperatorToken(name: "alice", role: .admin)
            let rotated = try await registry.rotateToken(id)
            let dump =
                try home.psql("SELECT d::text FROM devices d") + home.psql("SELECT o::text FROM operator_tokens o")
            #expect(dump.contains("pump-7"))
            for token in [deviceToken, operatorToken, rotated] {
                let secret = String(token.dropFirst(token.hasPrefix("rfx_dev_") ? 8 : 7))
                #expect(!dump.contains(token) && !dump.contains(secret))
                #expect(!dump.contains(Data(secret.utf8).map { String(format: "%02x", $0) }.joined()))
            }
        }
    }

    @Test("created_at, token_rotated_at and operator tokens' created_at come from the injected clock")
    func injectedClock() async throws {
        try await withStoreHome(.postgres) { home in
            let clock = NodeClock(now: { 1_700_000_000_123 }, monotonic: ManualClock())
            let registry = PostgresDeviceRegistry(
                database: try await home.openDatabase(PostgresRegistrySchema.migrations),
                clock: clock
            )
            let id = try deviceID("pump-7")
            let (device, _) = try await registry.addDevice(id: id, name: nil, type: nil, labels: [:])
            _ = try await registry.rotateToken(id)
            let (record, _) = try await registry.createOperatorToken(name: "alice", role: .admin)
            let expected = Date(timeIntervalSince1970: 1_700_000_000.123)
            #expect(device.createdAt == expected && record.createdAt == expected)
            #expect(try await registry.device(id)?.tokenRotatedAt == expected)
            #expect(
                try home.psql("SELECT created_at, token_rotated_at FROM devices") == "1700000000123|1700000000123\n"
            )
        }
    }

    @Test("a change made with psql (no Reflex involved) is seen by the next check")
    func changedWithPsql() async throws {
        try await withStoreHome(.postgres) { home in
            let (registry, _) = try await home.registry()
            let id = try deviceID("pump-7")
            let (_, token) = try await registry.addDevice(id: id, name: nil, type: nil, labels: [:])
            #expect(try await registry.authenticate(device: id, token: token) != nil)
            try home.psql("UPDATE devices SET enabled = FALSE WHERE id = 'pump-7'")
            #expect(try await registry.authenticate(device: id, token: token) == nil)
            try home.psql("DELETE FROM devices")
            #expect(try await registry.verify(device: id, token: token) == .unknownDevice)
        }
    }

    @Test("a token made before its lookup key was stored works, and gets its key on first use")
    func legacyOperatorToken() async throws {
        try await withStoreHome(.postgres) { home in
            let (registry, counters) = try await home.registry()
            let (record, token) = try await registry.createOperatorToken(name: "old", role: .admin)
            try home.psql("UPDATE operator_tokens SET lookup = NULL")
            #expect(try await registry.verifyOperatorToken(token) == record)
            #expect(try home.psql("SELECT count(*) FROM operator_tokens WHERE lookup IS NOT NULL") == "1\n")
            let before = counters.values
            #expect(try await registry.verifyOperatorToken(token) == record)
            #expect(counters.values.tokenHashes - before.tokenHashes == 2)
        }
    }
}
