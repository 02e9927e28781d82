import Foundation
import GRDB
import ReflexStore
import Testing

/// Two registry instances on one file stand for `reflex serve` and a `reflex device` command.
@Suite struct RegistryCacheTests {
    @Test("a device added by another process authenticates at once, though its absence was cached")
    func addedElsewhere() async throws {
        try await withRegistry { server, directory in
            let id = try deviceID("late")
            #expect(try await server.verify(device: id, token: "rfx_dev_x") == .unknownDevice)
            #expect(try await server.verify(device: id, token: "rfx_dev_x") == .unknownDevice)
            let cli = try SQLiteDeviceRegistry(dataDirectory: directory)
            let (_, token) = try await cli.addDevice(id: id)
            #expect(try await server.authenticate(device: id, token: token) != nil)
        }
    }

    @Test("a token rotated by another process: the new one works and the old one fails at once")
    func rotatedElsewhere() async throws {
        try await withRegistry { server, directory in
            let id = try deviceID("pump-7")
            let (_, old) = try await server.addDevice(id: id)
            #expect(try await server.authenticate(device: id, token: old) != nil)  // cached
            let new = try await SQLiteDeviceRegistry(dataDirectory: directory).rotateToken(id)
            #expect(try await server.authenticate(device: id, token: old) == nil)
            #expect(try await server.authenticate(device: id, token: new) != nil)
        }
    }

    @Test("disable and enable by another process apply to the next check of a cached device")
    func disabledElsewhere() async throws {
        try await withRegistry { server, directory in
            let id = try deviceID("pump-7")
            let (_, token) = try await server.addDevice(id: id)
            #expect(try await server.authenticate(device: id, token: token) != nil)
            let cli = try SQLiteDeviceRegistry(dataDirectory: directory)
            try await cli.setEnabled(id, false)
            guard case .disabled = try await server.verify(device: id, token: token) else {
                Issue.record("a device disabled elsewhere was still accepted")
                return
            }
            try await cli.setEnabled(id, true)
            #expect(try await server.authenticate(device: id, token: token) != nil)
        }
    }

    @Test("repeated checks of a known device read its row once and hash the token once each")
    func knownDeviceFromMemory() async throws {
        try await withRegistry { server, _ in
            let id = try deviceID("pump-7")
            let (_, token) = try await server.addDevice(id: id)
            _ = try await server.authenticate(device: id, token: token)
            let before = server.counters.values
            for _ in 0..<100 { #expect(try await server.authenticate(device: id, token: token) != nil) }
            let after = server.counters.values
            #expect(after.databaseReads == before.databaseReads)
            #expect(after.tokenHashes - before.tokenHashes == 100)
        }
    }

    @Test("a flood of one unknown device id reads the database once")
    func unknownDeviceFromMemory() async throws {
        try await withRegistry { server, _ in
            let id = try deviceID("nobody")
            let before = server.counters.values
            for _ in 0..<1_000 {
                #expect(try await server.verify(device: id, token: "rfx_dev_guess") == .unknownDevice)
            }
            let after = server.counters.values
            #expect(after.databaseReads - before.databaseReads == 1)
            #expect(after.tokenHashes == before.tokenHashes)
        }
    }

    @Test("an operator token check hashes once per stored candidate, not once per stored token")
    func operatorTokenLookup() async throws {
        try await withRegistry { server, _ in
            var tokens: [String] = []
            for n in 0..<20 { tokens.append(try await server.createOperatorToken(name: "t\(n)", role: .viewer).token) }
            _ = try await server.verifyOperatorToken(tokens[0])  // loads the index
            let before = server.counters.values
            for token in tokens { #expect(try await server.verifyOperatorToken(token) != nil) }
            for n in 0..<100 { #expect(try await server.verifyOperatorToken("rfx_op_guess\(n)") == nil) }
            let after = server.counters.values
            // A valid token: its lookup key and its salted hash. An unknown one: its lookup key.
            #expect(after.tokenHashes - before.tokenHashes == 20 * 2 + 100)
            #expect(after.databaseReads == before.databaseReads)
        }
    }

    @Test("a token made before lookup keys existed works, and gets its key on first use")
    func legacyOperatorToken() async throws {
        try await withRegistry { server, directory in
            let (record, token) = try await server.createOperatorToken(name: "old", role: .admin)
            let path = (directory as NSString).appendingPathComponent(SQLiteDeviceRegistry.fileName)
            let raw = try DatabaseQueue(path: path)
            try await raw.write { try $0.execute(sql: "UPDATE operator_tokens SET lookup = NULL") }
            #expect(try await server.verifyOperatorToken(token) == record)
            let stored = try await raw.read { try Int64.fetchOne($0, sql: "SELECT lookup FROM operator_tokens") }
            #expect(stored != nil)
            let before = server.counters.values
            #expect(try await server.verifyOperatorToken(token) == record)
            #expect(server.counters.values.tokenHashes - before.tokenHashes == 2)
        }
    }

    @Test("a token revoked by another process is refused at once and its generation moves")
    func revokedElsewhere() async throws {
        try await withRegistry { server, directory in
            let (record, token) = try await server.createOperatorToken(name: "ops", role: .admin)
            #expect(try await server.verifyOperatorToken(token) == record)
            let generation = try await server.changeGeneration()
            #expect(try await server.changeGeneration() == generation)  // nothing changed
            try await SQLiteDeviceRegistry(dataDirectory: directory).revokeOperatorToken(id: record.id)
            #expect(try await server.changeGeneration() != generation)
            #expect(try await server.verifyOperatorToken(token) == nil)
            #expect(try await server.currentOperatorToken(id: record.id) == nil)
        }
    }

    @Test("a device's credential fingerprint changes with rotation and not otherwise")
    func fingerprint() async throws {
        try await withRegistry { server, _ in
            let id = try deviceID("pump-7")
            let (_, token) = try await server.addDevice(id: id)
            let check = try await server.verifyCredential(device: id, token: token)
            let state = try #require(try await server.credentialState(of: id))
            #expect(check.tokenFingerprint == state.tokenFingerprint)
            try await server.setEnabled(id, false)
            #expect(try await server.credentialState(of: id)?.tokenFingerprint == state.tokenFingerprint)
            #expect(try await server.credentialState(of: id)?.isEnabled == false)
            _ = try await server.rotateToken(id)
            #expect(try await server.credentialState(of: id)?.tokenFingerprint != state.tokenFingerprint)
            #expect(try await server.credentialState(of: try deviceID("nobody")) == nil)
        }
    }
}
