import Foundation
import InMemoryLogging
import Logging
import NIOCore
import ReflexCore
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

@Suite struct DeviceAuthenticatorTests {
    struct Fixture {
        var registry: SQLiteDeviceRegistry
        var authenticator: DeviceAuthenticator
        var logs: InMemoryLogHandler
        var token: String
    }

    /// A registry with device `pump-7` (token in the fixture), in a fresh directory.
    private func withFixture(
        allowsAnonymous: Bool = false,
        _ body: (Fixture) async throws -> Void
    ) async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
            let (_, token) = try await registry.addDevice(id: try DeviceID(validating: "pump-7"))
            let logs = InMemoryLogHandler()
            let authenticator = DeviceAuthenticator(
                devices: registry,
                operators: registry,
                allowsAnonymous: allowsAnonymous,
                logger: Logger(label: "auth", factory: { _ in logs })
            )
            try await body(Fixture(registry: registry, authenticator: authenticator, logs: logs, token: token))
        }
    }

    private func connect(
        _ authenticator: DeviceAuthenticator,
        username: String?,
        password: String?
    ) async
        -> AuthenticationResult
    {
        await authenticator.authenticate(
            ConnectCredentials(
                clientID: "c1",
                username: username,
                password: password.map { ByteBuffer(string: $0) },
                remoteAddress: "127.0.0.1:5000"
            )
        )
    }

    private func refusal(_ result: AuthenticationResult) -> ReasonCode? {
        if case .refused(let reason) = result { return reason }
        return nil
    }

    // MARK: - Authentication

    @Test("a device connects with its id and token, as principal with role device") func deviceAccepted() async throws {
        try await withFixture { fixture in
            let result = await connect(fixture.authenticator, username: "pump-7", password: fixture.token)
            guard case .accepted(let identity) = result else {
                Issue.record("expected accepted, got \(result)")
                return
            }
            #expect(identity == ClientIdentity(principal: "pump-7", roles: ["device"]))
            #expect(fixture.authenticator.statistics[.acceptedDevice] == 1)
        }
    }

    @Test("an accepted identity records the credential it used, for revocation, never the token")
    func credentialRecorded() async throws {
        try await withFixture { fixture in
            let id = try DeviceID(validating: "pump-7")
            let device = await connect(fixture.authenticator, username: "pump-7", password: fixture.token)
            guard case .accepted(let identity) = device else {
                Issue.record("expected accepted, got \(device)")
                return
            }
            let state = try #require(try await fixture.registry.credentialState(of: id))
            #expect(
                CredentialReference(identity: identity) == .deviceToken(device: id, fingerprint: state.tokenFingerprint)
            )
            #expect(identity.credential?.contains(fixture.token) == false)
            let (record, token) = try await fixture.registry.createOperatorToken(name: "ops", role: .admin)
            let admin = await connect(fixture.authenticator, username: "operator:ops", password: token)
            guard case .accepted(let adminIdentity) = admin else {
                Issue.record("expected accepted, got \(admin)")
                return
            }
            #expect(CredentialReference(identity: adminIdentity) == .operatorToken(id: record.id))
        }
    }

    @Test("wrong token, unknown device, bad id or no password: bad user name or password")
    func badCredentials() async throws {
        try await withFixture { fixture in
            let cases: [(String?, String?)] = [
                ("pump-7", "rfx_dev_wrong"), ("pump-8", fixture.token), ("pump/7", fixture.token), ("pump-7", nil),
                ("pump-7", "rfx_op_not-an-operator-token"),
            ]
            for (username, password) in cases {
                let result = await connect(fixture.authenticator, username: username, password: password)
                #expect(refusal(result) == .badUserNameOrPassword, "\(username ?? "-") / \(password ?? "-")")
            }
            #expect(fixture.authenticator.statistics[.badCredentials] == cases.count)
        }
    }

    @Test("refusals are logged at notice without the token") func refusalsLoggedWithoutToken() async throws {
        try await withFixture { fixture in
            let wrong = "rfx_dev_secret-guess"
            _ = await connect(fixture.authenticator, username: "pump-7", password: wrong)
            _ = await connect(fixture.authenticator, username: "pump-7", password: fixture.token)
            let entry = try #require(fixture.logs.entries.first)
            #expect(entry.level == .notice)
            #expect(entry.metadata["mqtt.username"] == "pump-7")
            let everything = fixture.logs.entries.map { "\($0.message) \($0.metadata)" }.joined()
            #expect(!everything.contains(wrong))
            #expect(!everything.contains(fixture.token))
        }
    }

    @Test("a disabled device is not authorized, even with the right token") func disabled() async throws {
        try await withFixture { fixture in
            try await fixture.registry.setEnabled(try DeviceID(validating: "pump-7"), false)
            let result = await connect(fixture.authenticator, username: "pump-7", password: fixture.token)
            #expect(refusal(result) == .notAuthorized)
            #expect(fixture.authenticator.statistics[.disabled] == 1)
        }
    }

    @Test("without a user name: refused unless anonymous access is on", arguments: [false, true])
    func anonymous(allowed: Bool) async throws {
        try await withFixture(allowsAnonymous: allowed) { fixture in
            let result = await connect(fixture.authenticator, username: nil, password: nil)
            if allowed {
                guard case .accepted(let identity) = result else {
                    Issue.record("expected accepted, got \(result)")
                    return
                }
                #expect(identity == .anonymous)
            } else {
                #expect(refusal(result) == .notAuthorized)
            }
            // Credentials are still checked when anonymous access is on.
            let wrong = await connect(fixture.authenticator, username: "pump-7", password: "rfx_dev_wrong")
            #expect(refusal(wrong) == .badUserNameOrPassword)
        }
    }

    @Test("an admin operator token connects with any user name; other roles are not authorized")
    func operators() async throws {
        try await withFixture { fixture in
            let (_, admin) = try await fixture.registry.createOperatorToken(name: "alice", role: .admin)
            let (_, viewer) = try await fixture.registry.createOperatorToken(name: "bob", role: .viewer)
            let (revokedRecord, revoked) = try await fixture.registry.createOperatorToken(name: "eve", role: .admin)
            try await fixture.registry.revokeOperatorToken(id: revokedRecord.id)

            let result = await connect(fixture.authenticator, username: "operator:alice", password: admin)
            guard case .accepted(let identity) = result else {
                Issue.record("expected accepted, got \(result)")
                return
            }
            #expect(identity.principal == "operator:alice")
            #expect(identity.roles.contains("admin"))
            #expect(refusal(await connect(fixture.authenticator, username: "x", password: viewer)) == .notAuthorized)
            #expect(
                refusal(await connect(fixture.authenticator, username: "x", password: revoked))
                    == .badUserNameOrPassword
            )
        }
    }

    // MARK: - Authorization

    struct TopicCase: Sendable, CustomTestStringConvertible {
        var topic: String
        var mayPublish: Bool
        var maySubscribe: Bool
        var testDescription: String { "\(topic): publish \(mayPublish), subscribe \(maySubscribe)" }
    }

    @Test(
        "device pump-7 may use only its own subtree",
        arguments: [
            TopicCase(topic: "devices/pump-7/telemetry", mayPublish: true, maySubscribe: true),
            TopicCase(topic: "devices/pump-7/commands/stop", mayPublish: true, maySubscribe: true),
            TopicCase(topic: "devices/pump-7/commands/+", mayPublish: false, maySubscribe: true),
            TopicCase(topic: "devices/pump-7/#", mayPublish: false, maySubscribe: true),
            TopicCase(topic: "devices/pump-7/+/ack", mayPublish: false, maySubscribe: true),
            TopicCase(topic: "$share/g/devices/pump-7/commands/#", mayPublish: false, maySubscribe: true),
            TopicCase(topic: "devices/pump-7", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "devices/pump-7/", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "devices/pump-70/telemetry", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "devices/pump-8/telemetry", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "devices/pump/telemetry", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "devices/+/telemetry", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "devices/#", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "devices/+/#", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "#", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "+/pump-7/telemetry", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "$SYS/broker/uptime", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "$SYS/#", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "$share/g/devices/pump-8/#", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "$share/g/#", mayPublish: false, maySubscribe: false),
            TopicCase(topic: "other/devices/pump-7/x", mayPublish: false, maySubscribe: false),
        ]
    )
    func deviceTopics(_ testCase: TopicCase) throws {
        let authenticator = try makeAuthorizer(allowsAnonymous: true)  // anonymous mode must not widen devices
        let device = ClientIdentity(principal: "pump-7", roles: ["device"])
        #expect(authenticator.mayPublish(device, clientID: "c", topic: testCase.topic) == testCase.mayPublish)
        #expect(authenticator.maySubscribe(device, clientID: "c", filter: testCase.topic) == testCase.maySubscribe)
    }

    @Test("admins and allowed anonymous clients may use every topic but never publish to $SYS")
    func adminAndAnonymousTopics() throws {
        let open = try makeAuthorizer(allowsAnonymous: true)
        let closed = try makeAuthorizer(allowsAnonymous: false)
        let admin = ClientIdentity(principal: "operator:alice", roles: DeviceAuthenticator.adminRoles)
        for identity in [admin, .anonymous] {
            #expect(open.maySubscribe(identity, clientID: "c", filter: "#"))
            #expect(open.maySubscribe(identity, clientID: "c", filter: "$SYS/#"))
            #expect(open.mayPublish(identity, clientID: "c", topic: "devices/pump-7/commands/stop"))
            #expect(!open.mayPublish(identity, clientID: "c", topic: "$SYS/broker/uptime"))
        }
        #expect(closed.maySubscribe(admin, clientID: "c", filter: "devices/#"))
        #expect(!closed.maySubscribe(.anonymous, clientID: "c", filter: "devices/#"))
        #expect(!closed.mayPublish(.anonymous, clientID: "c", topic: "devices/pump-7/telemetry"))
        // An identity that is neither a device, an admin nor anonymous gets nothing.
        let stranger = ClientIdentity(principal: "someone", roles: [])
        #expect(!open.maySubscribe(stranger, clientID: "c", filter: "a/b"))
        #expect(
            !open.mayPublish(ClientIdentity(principal: nil, roles: ["device"]), clientID: "c", topic: "devices/x/y")
        )
    }

    private func makeAuthorizer(allowsAnonymous: Bool) throws -> DeviceAuthenticator {
        struct NoDevices: DeviceRegistry {
            func authenticate(device: DeviceID, token: String) async throws -> Device? { nil }
        }
        return DeviceAuthenticator(
            devices: NoDevices(),
            operators: nil,
            allowsAnonymous: allowsAnonymous,
            logger: Logger(label: "auth", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }
}
