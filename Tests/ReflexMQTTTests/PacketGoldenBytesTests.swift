import NIOCore
import ReflexMQTT
import Testing

/// Packets checked against bytes written by hand from the specifications and from captures of
/// mosquitto clients, so the encoder and decoder are not only checked against each other.
@Suite struct PacketGoldenBytesTests {
    struct Golden: Sendable, CustomStringConvertible {
        let name: String
        let hex: String
        let packet: Packet
        let version: ProtocolVersion
        var description: String { name }
    }

    static let goldens: [Golden] = [
        Golden(
            // mosquitto_pub -V mqttv311 -i mosqpub-123 -t test -m hello (keep-alive 60, clean session).
            name: "mosquitto_pub v3.1.1 CONNECT",
            hex: "1017 0004 4d515454 04 02 003c 000b 6d6f73717075622d313233",
            packet: .connect(Connect(version: .v311, cleanStart: true, keepAliveSeconds: 60, clientID: "mosqpub-123")),
            version: .v311
        ),
        Golden(
            name: "mosquitto_pub v3.1.1 PUBLISH QoS 0",
            hex: "300b 0004 74657374 68656c6c6f",
            packet: .publish(Publish(topic: "test", payload: ByteBuffer(string: "hello"))),
            version: .v311
        ),
        Golden(
            name: "v3.1.1 PUBLISH QoS 1 retained",
            hex: "330d 0004 74657374 0001 68656c6c6f",
            packet: .publish(
                Publish(
                    topic: "test",
                    payload: ByteBuffer(string: "hello"),
                    qos: .atLeastOnce,
                    retain: true,
                    packetID: 1
                )
            ),
            version: .v311
        ),
        Golden(
            name: "v3.1.1 CONNACK accepted, no session",
            hex: "2002 00 00",
            packet: .connack(ConnAck(sessionPresent: false, reasonCode: .success)),
            version: .v311
        ),
        Golden(
            name: "v3.1.1 CONNECT with user name, password and will",
            // flags: user name, password, will QoS 1, will flag, clean session = 0xce.
            hex: "1026 0004 4d515454 04 ce 001e 0003 616263 0003 742f77 0004 64656164 0004 75736572 0004 70617373",
            packet: .connect(
                Connect(
                    version: .v311,
                    cleanStart: true,
                    keepAliveSeconds: 30,
                    clientID: "abc",
                    will: Will(topic: "t/w", payload: ByteBuffer(string: "dead"), qos: .atLeastOnce, retain: false),
                    username: "user",
                    password: ByteBuffer(string: "pass")
                )
            ),
            version: .v311
        ),
        Golden(
            name: "v3.1.1 SUBSCRIBE two filters",
            hex: "820e 000a 0003 612f62 01 0003 632f23 02",
            packet: .subscribe(
                Subscribe(
                    packetID: 10,
                    subscriptions: [
                        SubscriptionRequest(filter: "a/b", qos: .atLeastOnce),
                        SubscriptionRequest(filter: "c/#", qos: .exactlyOnce),
                    ]
                )
            ),
            version: .v311
        ),
        Golden(
            name: "v3.1.1 SUBACK with failure",
            hex: "9004 000a 01 80",
            packet: .suback(SubAck(packetID: 10, reasonCodes: [.grantedQoS1, .unspecifiedError])),
            version: .v311
        ),
        Golden(name: "PINGREQ", hex: "c000", packet: .pingreq, version: .v311),
        Golden(name: "PINGRESP", hex: "d000", packet: .pingresp, version: .v5),
        Golden(name: "v3.1.1 DISCONNECT", hex: "e000", packet: .disconnect(Disconnect()), version: .v311),
        Golden(name: "v3.1.1 PUBREL", hex: "6202 1234", packet: .pubrel(PublishAck(packetID: 0x1234)), version: .v311),
        Golden(
            name: "v3.1.1 UNSUBACK",
            hex: "b002 0005",
            packet: .unsuback(UnsubAck(packetID: 5, reasonCodes: [])),
            version: .v311
        ),
        Golden(
            name: "v5 CONNECT with session expiry",
            hex: "1015 0004 4d515454 05 02 003c 05 11 0000000a 0003 616263",
            packet: .connect(
                Connect(
                    version: .v5,
                    cleanStart: true,
                    keepAliveSeconds: 60,
                    clientID: "abc",
                    properties: {
                        var p = Properties()
                        p.sessionExpiryInterval = 10
                        return p
                    }()
                )
            ),
            version: .v5
        ),
        Golden(
            name: "v5 CONNACK with receive maximum",
            hex: "2006 01 00 03 21 0014",
            packet: .connack(
                ConnAck(
                    sessionPresent: true,
                    reasonCode: .success,
                    properties: {
                        var p = Properties()
                        p.receiveMaximum = 20
                        return p
                    }()
                )
            ),
            version: .v5
        ),
        Golden(
            name: "v5 PUBLISH QoS 0 without properties",
            hex: "300c 0004 74657374 00 68656c6c6f",
            packet: .publish(Publish(topic: "test", payload: ByteBuffer(string: "hello"))),
            version: .v5
        ),
        Golden(name: "v5 PUBACK short form", hex: "4002 0001", packet: .puback(PublishAck(packetID: 1)), version: .v5),
        Golden(
            name: "v5 PUBACK no matching subscribers",
            hex: "4003 0001 10",
            packet: .puback(PublishAck(packetID: 1, reasonCode: .noMatchingSubscribers)),
            version: .v5
        ),
        Golden(
            name: "v5 SUBSCRIBE with no local and retain handling 2",
            hex: "8209 0001 00 0003 612f23 25",
            packet: .subscribe(
                Subscribe(
                    packetID: 1,
                    subscriptions: [
                        SubscriptionRequest(filter: "a/#", qos: .atLeastOnce, noLocal: true, retainHandling: .doNotSend)
                    ]
                )
            ),
            version: .v5
        ),
        Golden(name: "v5 DISCONNECT short form", hex: "e000", packet: .disconnect(Disconnect()), version: .v5),
        Golden(
            name: "v5 DISCONNECT session taken over",
            hex: "e001 8e",
            packet: .disconnect(Disconnect(reasonCode: .sessionTakenOver)),
            version: .v5
        ),
        Golden(name: "v5 AUTH short form", hex: "f000", packet: .auth(Auth()), version: .v5),
    ]

    @Test("encoding writes the reference bytes", arguments: goldens)
    func encodes(golden: Golden) {
        #expect(CodecTestSupport.bytes(golden.packet, golden.version) == ByteBuffer(hex: golden.hex))
        #expect(
            PacketEncoder.encodedSize(golden.packet, version: golden.version)
                == ByteBuffer(hex: golden.hex).readableBytes
        )
    }

    @Test("decoding the reference bytes gives the packet", arguments: goldens)
    func decodes(golden: Golden) throws {
        var buffer = ByteBuffer(hex: golden.hex)
        var decoder = CodecTestSupport.decoder(for: golden.packet, golden.version)
        #expect(try decoder.decode(buffer: &buffer) == golden.packet)
        #expect(buffer.readableBytes == 0)
    }

    @Test(
        "remaining lengths use the spec's variable byte integer encoding",
        arguments: [
            (0, "00"), (127, "7f"), (128, "8001"), (16_383, "ff7f"), (16_384, "808001"), (2_097_151, "ffff7f"),
            (2_097_152, "80808001"), (268_435_455, "ffffff7f"),
        ]
    )
    func variableByteIntegers(value: Int, hex: String) throws {
        // A PINGREQ-typed header is enough: the size check fires before the body is needed.
        var header = ByteBuffer(hex: "c0" + hex)
        var decoder = PacketDecoder(maximumPacketSize: 1, version: .v5)
        let expectedSize = header.readableBytes + value
        if expectedSize > 1 {
            #expect(throws: PacketDecodingError.packetTooLarge(size: expectedSize, limit: 1)) {
                try decoder.decode(buffer: &header)
            }
        }
        let publish = Packet.publish(Publish(topic: "", payload: ByteBuffer(repeating: 0, count: max(value - 3, 0))))
        if value >= 3 && value <= 2_097_152 {
            let encoded = CodecTestSupport.bytes(publish, .v5)
            #expect(encoded.getSlice(at: 1, length: hex.count / 2) == ByteBuffer(hex: hex))
        }
    }
}
