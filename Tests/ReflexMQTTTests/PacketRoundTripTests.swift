import NIOCore
import ReflexMQTT
import Testing

@Suite struct PacketRoundTripTests {
    @Test("every packet decodes to itself when fed whole", arguments: PacketFixtures.all)
    func wholeBuffer(fixture: PacketFixture) throws {
        var buffer = CodecTestSupport.bytes(fixture.packet, fixture.version)
        #expect(buffer.readableBytes == PacketEncoder.encodedSize(fixture.packet, version: fixture.version))
        var decoder = CodecTestSupport.decoder(for: fixture.packet, fixture.version)
        let decoded = try decoder.decode(buffer: &buffer)
        #expect(decoded == fixture.packet)
        #expect(buffer.readableBytes == 0)
        #expect(decoder.version == fixture.version)
    }

    @Test("every packet decodes only once its last byte arrived", arguments: PacketFixtures.all)
    func byteByByte(fixture: PacketFixture) throws {
        let encoded = CodecTestSupport.bytes(fixture.packet, fixture.version)
        var decoder = CodecTestSupport.decoder(for: fixture.packet, fixture.version)
        var buffer = ByteBuffer()
        var decoded: Packet?
        for (index, byte) in encoded.readableBytesView.enumerated() {
            buffer.writeInteger(byte)
            let readerIndex = buffer.readerIndex
            decoded = try decoder.decode(buffer: &buffer)
            if index < encoded.readableBytes - 1 {
                #expect(decoded == nil, "decoded after \(index + 1) of \(encoded.readableBytes) bytes")
                #expect(buffer.readerIndex == readerIndex, "consumed bytes of an incomplete packet")
            }
        }
        #expect(decoded == fixture.packet)
        #expect(buffer.readableBytes == 0)
    }

    @Test("concatenated packets decode in order", arguments: [ProtocolVersion.v311, .v5])
    func concatenated(version: ProtocolVersion) throws {
        let fixtures = version == .v5 ? PacketFixtures.v5 : PacketFixtures.v311
        // One connection: a CONNECT first, then every non-CONNECT packet, each twice.
        let connect = try #require(fixtures.first { if case .connect = $0.packet { true } else { false } })
        let rest = fixtures.filter { if case .connect = $0.packet { false } else { true } }.map(\.packet)
        let expected = [connect.packet] + rest + rest
        var buffer = ByteBuffer()
        for packet in expected { PacketEncoder.encode(packet, version: version, into: &buffer) }
        var decoder = PacketDecoder(maximumPacketSize: CodecTestSupport.limit)
        let decoded = try CodecTestSupport.decodeAll(&buffer, decoder: &decoder)
        #expect(decoded == expected)
        #expect(buffer.readableBytes == 0)
        #expect(decoder.version == version)
    }

    @Test("a PUBLISH payload shares storage with the received buffer")
    func payloadIsSlice() throws {
        var buffer = CodecTestSupport.bytes(.publish(Publish(topic: "t", payload: ByteBuffer(string: "payload"))), .v5)
        let storageAddress = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        var decoder = PacketDecoder(maximumPacketSize: 1024, version: .v5)
        guard case .publish(let publish) = try decoder.decode(buffer: &buffer) else {
            Issue.record("not a PUBLISH")
            return
        }
        let payloadAddress = publish.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        // Fixed header (2) + topic (3) + property length (1).
        #expect(payloadAddress == storageAddress + 6)
    }

    @Test("v3.1.1 encoding drops properties and maps reason codes")
    func v311Mapping() throws {
        var properties = Properties()
        properties.reasonString = "dropped"
        let cases: [(Packet, String)] = [
            (.connack(ConnAck(sessionPresent: false, reasonCode: .serverBusy, properties: properties)), "20020003"),
            (.connack(ConnAck(sessionPresent: false, reasonCode: .banned)), "20020005"),
            (
                .suback(SubAck(packetID: 1, reasonCodes: [.grantedQoS2, .notAuthorized, .quotaExceeded])),
                "900500010280 80"
            ),
            (.unsuback(UnsubAck(packetID: 1, reasonCodes: [.success], properties: properties)), "b0020001"),
            (.puback(PublishAck(packetID: 1, reasonCode: .quotaExceeded, properties: properties)), "40020001"),
            (.disconnect(Disconnect(reasonCode: .serverShuttingDown, properties: properties)), "e000"),
            (.publish(Publish(topic: "t", payload: ByteBuffer(), properties: properties)), "3003 000174"),
        ]
        for (packet, hex) in cases {
            #expect(CodecTestSupport.bytes(packet, .v311) == ByteBuffer(hex: hex), "\(packet.name)")
            #expect(PacketEncoder.encodedSize(packet, version: .v311) == ByteBuffer(hex: hex).readableBytes)
        }
    }

    @Test("encodedSize matches the bytes written for large remaining lengths", arguments: [0, 100, 20_000, 2_100_000])
    func largeSizes(payloadSize: Int) throws {
        let packet = Packet.publish(
            Publish(
                topic: "big",
                payload: ByteBuffer(repeating: 0x5A, count: payloadSize),
                qos: .atLeastOnce,
                packetID: 3
            )
        )
        for version in [ProtocolVersion.v311, .v5] {
            var buffer = CodecTestSupport.bytes(packet, version)
            #expect(buffer.readableBytes == PacketEncoder.encodedSize(packet, version: version))
            var decoder = PacketDecoder(maximumPacketSize: 4_000_000, version: version)
            #expect(try decoder.decode(buffer: &buffer) == packet)
        }
    }
}
