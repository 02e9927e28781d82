import Foundation
import NIOCore
import ReflexCore
import Testing

@testable import ReflexMQTT

/// Feeds random and mutated packets from many connections into one broker core (decoder and
/// session state machines together) and checks that nothing crashes and the core's books
/// stay consistent. Seeded, so a failure reproduces; scale with REFLEX_SESSION_FUZZ_PACKETS.
@Suite("Broker: session fuzzing")
struct BrokerFuzzTests {
    static let topics = ["a", "a/b", "a/b/c", "$SYS/x", "dev/1/t", "dev/2/t", "", "a//b", "x/+/y", "#"]
    static let filters = [
        "a/#", "+/b", "#", "a/+/c", "$share/g/a/#", "$share/g/#", "dev/+/t", "a/#/b", "", "$SYS/#", "+",
    ]

    func randomProperties(_ rng: inout SplitMix64) -> Properties {
        var p = Properties()
        if Bool.random(using: &rng) { p.messageExpiryInterval = UInt32.random(in: 0...20, using: &rng) }
        if Int.random(in: 0..<4, using: &rng) == 0 { p.topicAlias = UInt16.random(in: 0...70, using: &rng) }
        if Int.random(in: 0..<4, using: &rng) == 0 { p.payloadFormatIndicator = UInt8.random(in: 0...1, using: &rng) }
        if Int.random(in: 0..<6, using: &rng) == 0 { p.userProperties = [UserProperty(name: "k", value: "v")] }
        return p
    }

    func randomPacket(_ rng: inout SplitMix64, clientID: String, version: ProtocolVersion) -> Packet {
        let qos = QoS(rawValue: UInt8.random(in: 0...2, using: &rng)) ?? .atMostOnce
        let id = UInt16.random(in: 1...20, using: &rng)
        switch Int.random(in: 0..<16, using: &rng) {
        case 0...5:
            var payload = ByteBuffer()
            payload.writeRepeatingByte(
                UInt8.random(in: 0...255, using: &rng),
                count: Int.random(in: 0...40, using: &rng)
            )
            return .publish(
                Publish(
                    topic: Self.topics.randomElement(using: &rng) ?? "a",
                    payload: payload,
                    qos: qos,
                    retain: Int.random(in: 0..<5, using: &rng) == 0,
                    packetID: qos == .atMostOnce ? nil : id,
                    properties: version == .v5 ? randomProperties(&rng) : Properties()
                )
            )
        case 6, 7:
            var request = SubscriptionRequest(filter: Self.filters.randomElement(using: &rng) ?? "#", qos: qos)
            request.noLocal = Int.random(in: 0..<4, using: &rng) == 0
            request.retainHandling = RetainHandling(rawValue: UInt8.random(in: 0...2, using: &rng)) ?? .sendOnSubscribe
            var properties = Properties()
            if version == .v5, Bool.random(using: &rng) {
                properties.subscriptionIdentifiers = [Int.random(in: 1...9, using: &rng)]
            }
            return .subscribe(Subscribe(packetID: id, subscriptions: [request], properties: properties))
        case 8:
            return .unsubscribe(Unsubscribe(packetID: id, filters: [Self.filters.randomElement(using: &rng) ?? "#"]))
        case 9: return .puback(PublishAck(packetID: id))
        case 10: return .pubrec(PublishAck(packetID: id))
        case 11: return .pubrel(PublishAck(packetID: id))
        case 12: return .pubcomp(PublishAck(packetID: id))
        case 13: return .pingreq
        case 14:
            return .disconnect(
                Disconnect(reasonCode: Bool.random(using: &rng) ? .normalDisconnection : .disconnectWithWillMessage)
            )
        default:
            return .connect(
                Connect(version: version, cleanStart: Bool.random(using: &rng), keepAliveSeconds: 5, clientID: clientID)
            )
        }
    }

    func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
        case 1: bytes.removeLast(Int.random(in: 0...bytes.count - 1, using: &rng))
        case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
        default: bytes[0] = UInt8.random(in: 0...255, using: &rng)
        }
    }

    @Test(
        "random and mutated packets from 8 clients (200k; REFLEX_SESSION_FUZZ_PACKETS scales it) never crash the broker"
    )
    func sessionFuzz() throws {
        let total = Int(ProcessInfo.processInfo.environment["REFLEX_SESSION_FUZZ_PACKETS"] ?? "") ?? 200_000
        var rng = SplitMix64(seed: 0x5EED)
        let broker = BrokerHarness {
            $0.maxQueuedMessages = 50
            $0.maxInflight = 4
            $0.v311SessionExpirySeconds = 60
        }
        var clients: [TestClient?] = Array(repeating: nil, count: 8)
        var fed = 0
        var mutated = 0
        var reconnects = 0
        while fed < total {
            let slot = Int.random(in: 0..<clients.count, using: &rng)
            let version: ProtocolVersion = slot % 2 == 0 ? .v5 : .v311
            if clients[slot]?.isActive != true {
                var properties = Properties()
                if version == .v5 && Bool.random(using: &rng) { properties.sessionExpiryInterval = 30 }
                if version == .v5 && Bool.random(using: &rng) { properties.receiveMaximum = 2 }
                let will =
                    Bool.random(using: &rng)
                    ? Will(
                        topic: "status/\(slot)",
                        payload: ByteBuffer(string: "gone"),
                        qos: .atLeastOnce,
                        retain: false
                    )
                    : nil
                let (client, _) = try broker.connect(
                    "c\(slot)",
                    version: version,
                    cleanStart: Bool.random(using: &rng),
                    keepAlive: 30,
                    will: will,
                    properties: properties
                )
                clients[slot] = client
                reconnects += 1
                fed += 1
            }
            guard let client = clients[slot] else { continue }
            let packet = randomPacket(&rng, clientID: "c\(slot)", version: version)
            var buffer = ByteBuffer()
            PacketEncoder.encode(packet, version: version, into: &buffer)
            if Int.random(in: 0..<10, using: &rng) == 0 {
                var bytes = Array(buffer.readableBytesView)
                mutate(&bytes, &rng)
                buffer = ByteBuffer(bytes: bytes)
                mutated += 1
            }
            try client.sendRaw(buffer)
            fed += 1
            if fed % 64 == 0 { _ = try client.receive() }
            if fed % 10_000 == 0 { broker.advance(by: .seconds(Int64.random(in: 0...40, using: &rng))) }
        }
        for client in clients { client?.drop() }
        broker.advance(by: .seconds(120))
        let core = broker.core
        print(
            "session fuzz: \(fed) packets, \(mutated) mutated, \(reconnects) connections, malformed=\(core.statistics.malformedPackets) protocolErrors=\(core.statistics.protocolErrors)"
        )
        #expect(core.connectedClients == 0)
        #expect(core.openConnections == 0)
        #expect(core.sessions.isEmpty)  // every session expired or ended
        #expect(core.subscriptions.count == 0)
        #expect(core.statistics.malformedPackets > 0)
    }
}
