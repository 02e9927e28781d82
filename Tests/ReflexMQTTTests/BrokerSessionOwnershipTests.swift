import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import ReflexMQTT

/// Lets everyone publish; subscribing is refused for the filters in ``denied`` (changed by tests
/// to model permissions that were withdrawn).
final class RevocableAuthorizer: TopicAuthorizer {
    let denied = Mutex<Set<String>>([])
    func mayPublish(_ identity: ClientIdentity, clientID: String, topic: String) -> Bool { true }
    func maySubscribe(_ identity: ClientIdentity, clientID: String, filter: String) -> Bool {
        !denied.withLock { $0.contains(filter) }
    }
}

private func persistent(_ seconds: UInt32 = 3600) -> Properties {
    var properties = Properties()
    properties.sessionExpiryInterval = seconds
    return properties
}

@Suite("Session ownership: the decision")
struct SessionOwnershipDecisionTests {
    static let admin = ClientIdentity(principal: "operator:admin", roles: ["admin"])
    static let pump = ClientIdentity(principal: "pumpA", roles: ["device"])

    @Test(
        "decides from the owner, the connection and clean start",
        arguments: [
            (nil, pump, false, SessionOwnership.Decision.startNew),
            (.init(owner: admin, isConnected: false), pump, false, .refuse(owner: admin)),
            (.init(owner: admin, isConnected: true), pump, true, .refuse(owner: admin)),
            (.init(owner: pump, isConnected: false), pump, false, .resume(takeOver: false)),
            (.init(owner: pump, isConnected: true), pump, false, .resume(takeOver: true)),
            (.init(owner: pump, isConnected: true), pump, true, .startOver(takeOver: true)),
            (
                .init(owner: ClientIdentity(principal: "pumpA"), isConnected: false), pump, false,
                .resume(takeOver: false)
            ),
            (.init(owner: nil, isConnected: false), pump, false, .discardOwnerless),
            (.init(owner: nil, isConnected: false), .anonymous, false, .resume(takeOver: false)),
            (.init(owner: nil, isConnected: true), .anonymous, false, .refuse(owner: nil)),
            (.init(owner: .anonymous, isConnected: true), .anonymous, true, .startOver(takeOver: true)),
            (.init(owner: .anonymous, isConnected: false), pump, false, .refuse(owner: .anonymous)),
        ] as [(SessionOwnership.Existing?, ClientIdentity, Bool, SessionOwnership.Decision)]
    )
    func decision(
        existing: SessionOwnership.Existing?,
        identity: ClientIdentity,
        cleanStart: Bool,
        expected: SessionOwnership.Decision
    ) {
        #expect(SessionOwnership.decide(existing: existing, identity: identity, cleanStart: cleanStart) == expected)
    }
}

@Suite("Broker: a session belongs to the identity that created it")
struct BrokerSessionOwnershipTests {
    @Test("another identity resuming a persistent session's client id is refused with 0x87; the session stays")
    func otherIdentityCannotResume() throws {
        let broker = BrokerHarness()
        let (console, _) = try broker.connect("ops-console", properties: persistent(), username: "operator:admin")
        _ = try console.subscribe("#", qos: .atLeastOnce)
        try console.send(.disconnect(Disconnect()))

        let (thief, ack) = try broker.connect("ops-console", cleanStart: false, username: "pumpA")
        #expect(ack.reasonCode == .notAuthorized)
        #expect(!ack.sessionPresent)
        #expect(!thief.isActive)
        #expect(broker.core.statistics.sessionOwnerRefusals == 1)

        let (pumpB, _) = try broker.connect("pumpB", username: "pumpB")
        try pumpB.publish("devices/pumpB/telemetry", "42", qos: .atLeastOnce)
        let (again, resumed) = try broker.connect(
            "ops-console",
            cleanStart: false,
            properties: persistent(),
            username: "operator:admin"
        )
        #expect(resumed.sessionPresent)
        #expect(try again.receivePublishes().map(\.text) == ["42"])
    }

    @Test("another identity cannot kick a connected client off with clean start, in 3.1.1 either")
    func otherIdentityCannotTakeOver() throws {
        let broker = BrokerHarness()
        let (admin, _) = try broker.connect("ops-console", version: .v311, username: "operator:admin")
        let (thief, ack) = try broker.connect("ops-console", version: .v311, cleanStart: true, username: "pumpA")
        #expect(ack.reasonCode == .notAuthorized)
        #expect(ack.reasonCode.v311ConnectReturnCode == 5)
        #expect(!thief.isActive)
        #expect(admin.isActive)
        #expect(try admin.receive().isEmpty)
        #expect(broker.core.connectedClients == 1)
    }

    @Test("the same identity still resumes its session and takes over its own connected client")
    func sameIdentityTakesOver() throws {
        let broker = BrokerHarness()
        let (first, _) = try broker.connect("pumpA-1", properties: persistent(), username: "pumpA")
        _ = try first.subscribe("devices/pumpA/commands/#", qos: .atLeastOnce)
        let (second, ack) = try broker.connect(
            "pumpA-1",
            cleanStart: false,
            properties: persistent(),
            username: "pumpA"
        )
        #expect(ack.reasonCode == .success)
        #expect(ack.sessionPresent)
        #expect(!first.isActive)
        #expect(second.isActive)
        #expect(broker.core.sessions["pumpA-1"]?.subscriptions.keys.contains("devices/pumpA/commands/#") == true)
    }

    @Test("a resumed session loses the subscriptions its identity may no longer make, and their queued messages")
    func resumedSubscriptionsAreRechecked() throws {
        let authorizer = RevocableAuthorizer()
        let broker = BrokerHarness(authorizer: authorizer)
        let (client, _) = try broker.connect("c", properties: persistent(), username: "pumpA")
        _ = try client.subscribe("a/#", qos: .atLeastOnce)
        _ = try client.subscribe("b/#", qos: .atLeastOnce, packetID: 2)
        try client.send(.disconnect(Disconnect()))
        let (publisher, _) = try broker.connect("p", username: "p")
        try publisher.publish("a/1", "a", qos: .atLeastOnce, packetID: 1)
        try publisher.publish("b/1", "b", qos: .atLeastOnce, packetID: 2)
        authorizer.denied.withLock { $0 = ["a/#"] }

        let (again, ack) = try broker.connect("c", cleanStart: false, properties: persistent(), username: "pumpA")
        #expect(ack.sessionPresent)
        #expect(try again.receivePublishes().map(\.text) == ["b"])
        #expect(broker.core.sessions["c"]?.subscriptions.keys.sorted() == ["b/#"])
        #expect(broker.core.statistics.droppedRestoredSubscriptions == 1)
    }

    @Test("restored sessions keep their owner; their subscriptions are re-checked at restore")
    func restoredSessionsKeepOwner() throws {
        let authorizer = RevocableAuthorizer()
        let first = BrokerHarness(authorizer: authorizer)
        let (client, _) = try first.connect("ops-console", properties: persistent(), username: "operator:admin")
        _ = try client.subscribe("#")
        _ = try client.subscribe("x/y", packetID: 2)
        try client.send(.disconnect(Disconnect()))
        let snapshot = BrokerSnapshot(core: first.core)
        let sessions = try #require(snapshot.sessions)
        #expect(sessions.first?.owner == PersistedOwner(principal: "operator:admin", roles: []))

        authorizer.denied.withLock { $0 = ["#"] }
        let second = BrokerHarness(authorizer: authorizer)
        BrokerSnapshot.restore(sessions: sessions, retained: [], into: second.core)
        #expect(second.core.sessions["ops-console"]?.subscriptions.keys.sorted() == ["x/y"])
        let (thief, refused) = try second.connect("ops-console", cleanStart: false, username: "pumpA")
        #expect(refused.reasonCode == .notAuthorized)
        #expect(!thief.isActive)
    }

    @Test("a restored session without an owner is discarded for an authenticated identity, adopted by anonymous")
    func ownerlessRestoredSessions() throws {
        let legacy = PersistedSession(
            clientID: "old",
            protocolVersion: 5,
            expiryIntervalSeconds: 3600,
            disconnectedAt: nil,
            subscriptions: [
                PersistedSubscription(
                    filter: "#",
                    qos: 1,
                    noLocal: false,
                    retainAsPublished: false,
                    retainHandling: 0,
                    subscriptionIdentifier: nil
                )
            ],
            messages: [],
            incomingQoS2PacketIDs: []
        )
        let authenticated = BrokerHarness()
        BrokerSnapshot.restore(sessions: [legacy], retained: [], into: authenticated.core)
        let (device, ack) = try authenticated.connect("old", cleanStart: false, properties: persistent(), username: "d")
        #expect(ack.reasonCode == .success)
        #expect(!ack.sessionPresent)
        #expect(device.isActive)
        #expect(authenticated.core.sessions["old"]?.subscriptions.isEmpty == true)
        #expect(authenticated.core.sessions["old"]?.owner?.principal == "d")

        let anonymous = BrokerHarness()
        BrokerSnapshot.restore(sessions: [legacy], retained: [], into: anonymous.core)
        let (_, adopted) = try anonymous.connect("old", cleanStart: false, properties: persistent())
        #expect(adopted.sessionPresent)
        #expect(anonymous.core.sessions["old"]?.owner == .anonymous)
    }

    @Test("old snapshots without owners still decode")
    func legacySnapshotDecodes() throws {
        let json = """
            {"clientID":"c","protocolVersion":5,"expiryIntervalSeconds":60,"subscriptions":[],
             "messages":[],"incomingQoS2PacketIDs":[]}
            """
        let session = try JSONDecoder().decode(PersistedSession.self, from: Data(json.utf8))
        #expect(session.owner == nil)
    }
}
