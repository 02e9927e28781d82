import Foundation
import ReflexStore
import Testing

@Suite struct RegistryOperatorTokenTests {
    @Test("a created token verifies with its role until it is revoked", arguments: OperatorRole.allCases)
    func createVerifyRevoke(role: OperatorRole) async throws {
        try await withRegistry { registry, _ in
            let (record, token) = try await registry.createOperatorToken(name: "alice", role: role)
            #expect(token.hasPrefix("rfx_op_"))
            #expect(record.role == role && record.name == "alice" && !record.isRevoked)
            #expect(try await registry.verifyOperatorToken(token) == record)
            try await registry.revokeOperatorToken(id: record.id)
            #expect(try await registry.verifyOperatorToken(token) == nil)
            #expect(try await registry.operatorTokens().map(\.isRevoked) == [true])
        }
    }

    @Test("each token verifies as itself; unknown and device tokens do not") func several() async throws {
        try await withRegistry { registry, _ in
            let (viewer, viewerToken) = try await registry.createOperatorToken(name: "grafana", role: .viewer)
            let (admin, adminToken) = try await registry.createOperatorToken(name: "root", role: .admin)
            let (_, deviceToken) = try await registry.addDevice(id: try deviceID("d"))
            #expect(try await registry.verifyOperatorToken(viewerToken) == viewer)
            #expect(try await registry.verifyOperatorToken(adminToken) == admin)
            #expect(try await registry.verifyOperatorToken(deviceToken) == nil)
            #expect(try await registry.verifyOperatorToken("rfx_op_nope") == nil)
            #expect(try await registry.verifyOperatorToken("") == nil)
            #expect(try await registry.operatorTokens().map(\.id) == [viewer.id, admin.id])
        }
    }

    @Test("revoking an unknown id fails naming it") func revokeUnknown() async throws {
        try await withRegistry { registry, _ in
            let error = await #expect(throws: RegistryError.self) { try await registry.revokeOperatorToken(id: 42) }
            #expect(error?.code == .operatorTokenNotFound)
            #expect(error?.message.contains("42") == true)
        }
    }

    @Test("an empty name is rejected") func emptyName() async throws {
        try await withRegistry { registry, _ in
            let error = await #expect(throws: RegistryError.self) {
                try await registry.createOperatorToken(name: " ", role: .viewer)
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("ensureAdminToken creates one admin token, once") func ensureAdminIdempotent() async throws {
        try await withRegistry { registry, directory in
            let first = try #require(try await registry.ensureAdminToken())
            #expect(try await registry.ensureAdminToken() == nil)
            #expect(try await SQLiteDeviceRegistry(dataDirectory: directory).ensureAdminToken() == nil)
            let tokens = try await registry.operatorTokens()
            #expect(tokens.count == 1)
            #expect(tokens.first?.role == .admin)
            #expect(tokens.first?.name == SQLiteDeviceRegistry.initialAdminTokenName)
            #expect(try await registry.verifyOperatorToken(first)?.role == .admin)
        }
    }

    @Test("ensureAdminToken ignores non-admin and revoked tokens") func ensureAdminNeedsUsableAdmin() async throws {
        try await withRegistry { registry, _ in
            _ = try await registry.createOperatorToken(name: "v", role: .viewer)
            _ = try await registry.createOperatorToken(name: "o", role: .operator)
            let (admin, _) = try await registry.createOperatorToken(name: "a", role: .admin)
            #expect(try await registry.ensureAdminToken() == nil)
            try await registry.revokeOperatorToken(id: admin.id)
            #expect(try await registry.ensureAdminToken() != nil)
        }
    }

    @Test("concurrent ensureAdminToken calls create exactly one token") func ensureAdminConcurrent() async throws {
        try await withRegistry { registry, _ in
            let created = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<8 { group.addTask { try await registry.ensureAdminToken() } }
                var created = 0
                for try await token in group where token != nil { created += 1 }
                return created
            }
            #expect(created == 1)
            #expect(try await registry.operatorTokens().count == 1)
        }
    }

    @Test("roles are ordered viewer < operator < admin") func roleOrder() {
        #expect(OperatorRole.admin.includes(.operator))
        #expect(OperatorRole.operator.includes(.viewer))
        #expect(!OperatorRole.viewer.includes(.operator))
        #expect(!OperatorRole.operator.includes(.admin))
        #expect(OperatorRole.allCases.sorted() == [.viewer, .operator, .admin])
    }
}
