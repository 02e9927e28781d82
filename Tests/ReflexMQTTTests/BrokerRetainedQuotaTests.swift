import NIOCore
import NIOEmbedded
import OrderedCollections
import Testing

@testable import ReflexMQTT

@Suite("Broker: retained-message quotas and incremental saves")
struct BrokerRetainedQuotaTests {
    private func pubacks(_ client: TestClient) throws -> [ReasonCode] {
        try client.receive().compactMap { if case .puback(let ack) = $0 { ack.reasonCode } else { nil } }
    }

    @Test("past its message quota a v5 client gets PUBACK 0x97; deleting still works; others are unaffected")
    func messageQuota() throws {
        let broker = BrokerHarness { $0.maxRetainedMessagesPerClient = 2 }
        let (a, _) = try broker.connect("a", username: "a")
        for (i, topic) in ["r/1", "r/2", "r/3"].enumerated() {
            try a.publish(topic, "x", qos: .atLeastOnce, retain: true, packetID: UInt16(i + 1))
        }
        #expect(try pubacks(a) == [.success, .success, .quotaExceeded])
        #expect(broker.core.retained.message(for: "r/3") == nil)
        #expect(broker.core.statistics.retainedQuotaRefusals == 1)
        // Replacing one's own message does not need more quota.
        try a.publish("r/1", "y", qos: .atLeastOnce, retain: true, packetID: 4)
        // Deleting always works, and frees quota.
        try a.publish("r/2", "", qos: .atLeastOnce, retain: true, packetID: 5)
        try a.publish("r/3", "z", qos: .atLeastOnce, retain: true, packetID: 6)
        #expect(try pubacks(a) == [.success, .success, .success])
        let (b, _) = try broker.connect("b", username: "b")
        try b.publish("s/1", "x", qos: .atLeastOnce, retain: true)
        #expect(try pubacks(b) == [.success])
    }

    @Test("a refused retained message is not routed either; 3.1.1 and QoS 0 are dropped silently")
    func refusedIsNotRouted() throws {
        let broker = BrokerHarness { $0.maxRetainedBytesPerClient = 10 }
        let (subscriber, _) = try broker.connect("sub", username: "sub")
        _ = try subscriber.subscribe("r/#", qos: .atMostOnce)
        let (old, _) = try broker.connect("old", version: .v311, username: "old")
        try old.publish("r/1", "far too long for ten bytes", qos: .atLeastOnce, retain: true)
        try old.publish("r/2", "also far too long", qos: .atMostOnce, retain: true)
        try old.publish("r/3", "ok", qos: .atMostOnce, retain: true)
        #expect(try pubacks(old) == [.success])
        #expect(try subscriber.receivePublishes().map(\.text) == ["ok"])
        #expect(broker.core.retained.count == 1)
        #expect(broker.core.statistics.retainedQuotaRefusals == 2)
    }

    @Test("the quota arithmetic: per owner, replacing, node-wide total, ownerless messages")
    func quotaArithmetic() throws {
        var quota = RetainedQuota(limits: .init(maxMessagesPerClient: 2, maxBytesPerClient: 100, maxBytes: 150))
        let a = ClientIdentity(principal: "a")
        let b = ClientIdentity(principal: "b")
        let small = RetainedQuota.Entry(owner: a, bytes: 40)
        try quota.check(small, replacing: nil)
        quota.recordSet(small, replacing: nil)
        quota.recordSet(small, replacing: nil)
        #expect(throws: RetainedQuota.Exceeded.messagesPerClient(limit: 2)) { try quota.check(small, replacing: nil) }
        try quota.check(RetainedQuota.Entry(owner: a, bytes: 60), replacing: small)
        #expect(throws: RetainedQuota.Exceeded.bytesPerClient(limit: 100)) {
            try quota.check(RetainedQuota.Entry(owner: a, bytes: 61), replacing: small)
        }
        let big = RetainedQuota.Entry(owner: b, bytes: 71)
        #expect(throws: RetainedQuota.Exceeded.nodeBytes(limit: 150)) { try quota.check(big, replacing: nil) }
        // b replacing a's message frees a's share.
        quota.recordSet(RetainedQuota.Entry(owner: b, bytes: 10), replacing: small)
        #expect(quota.usage(of: a) == RetainedQuota.Usage(messages: 1, bytes: 40))
        #expect(quota.usage(of: b) == RetainedQuota.Usage(messages: 1, bytes: 10))
        // Broker-made messages are never refused.
        try quota.check(RetainedQuota.Entry(owner: nil, bytes: 1_000), replacing: nil)
    }

    @Test("a save writes only the retained topics that changed since the last one")
    func incrementalSnapshot() throws {
        let broker = BrokerHarness()
        let (a, _) = try broker.connect("a", username: "a")
        for i in 1...3 { try a.publish("r/\(i)", String(repeating: "x", count: 1000), retain: true) }
        try a.publish("$SYS/x", "ignored", retain: true)
        var snapshot = BrokerSnapshot(core: broker.core, includeSessions: false)
        #expect(snapshot.sessions == nil)
        #expect(snapshot.retained.upserts.map(\.topic).sorted() == ["r/1", "r/2", "r/3"])
        #expect(snapshot.retained.upserts.allSatisfy { $0.owner?.principal == "a" })
        broker.core.retainedChanges.removeAll()

        try a.publish("r/2", "tiny", retain: true)
        try a.publish("r/3", "", retain: true)
        snapshot = BrokerSnapshot(core: broker.core, includeSessions: false)
        #expect(snapshot.retained.upserts.map(\.topic) == ["r/2"])
        #expect(snapshot.retained.deletions == ["r/3"])
        #expect(!broker.core.isDirty)
    }

    @Test("restored retained messages count toward their owner's quota")
    func restoredCountTowardQuota() throws {
        let first = BrokerHarness()
        let (a, _) = try first.connect("a", username: "a")
        try a.publish("r/1", "x", retain: true)
        let changes = BrokerSnapshot(core: first.core).retained
        let second = BrokerHarness { $0.maxRetainedMessagesPerClient = 1 }
        BrokerSnapshot.restore(sessions: [], retained: changes.upserts, into: second.core)
        #expect(second.core.retainedQuota.usage(of: ClientIdentity(principal: "a")).messages == 1)
        let (again, _) = try second.connect("a", username: "a")
        try again.publish("r/2", "x", qos: .atLeastOnce, retain: true)
        #expect(try pubacks(again) == [.quotaExceeded])
    }
}
