import NIOCore
import ReflexMQTT
import Testing

/// Malformed and forbidden input: each case expects one specific error and the reason code the
/// broker will send for it.
@Suite struct PacketDecoderErrorTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let hex: String
        /// `nil`: a fresh server-side connection that has not seen CONNECT.
        let version: ProtocolVersion?
        var limit = 1 << 20
        let error: PacketDecodingError
        let reasonCode: ReasonCode
        var description: String { name }
    }

    static let connectHeader311 = "0004 4d515454 04"
    static let connectHeader5 = "0004 4d515454 05"

    static let cases: [Case] = [
        Case(
            name: "remaining length of five bytes",
            hex: "30 ffffffff01",
            version: .v5,
            error: .malformedRemainingLength,
            reasonCode: .malformedPacket
        ),
        Case(
            name: "remaining length not minimally encoded",
            hex: "c0 8000",
            version: .v5,
            error: .malformedRemainingLength,
            reasonCode: .malformedPacket
        ),
        Case(
            // Only the fixed header has arrived: the decoder must not wait for 1000 more bytes.
            name: "oversize packet rejected from its fixed header",
            hex: "30 e807",
            version: .v5,
            limit: 100,
            error: .packetTooLarge(size: 1003, limit: 100),
            reasonCode: .packetTooLarge
        ),
        Case(
            name: "topic that is not UTF-8",
            hex: "30 04 0002 c328",
            version: .v311,
            error: .invalidUTF8(field: "topic name"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "topic with a UTF-16 surrogate encoded in UTF-8",
            hex: "30 05 0003 eda080",
            version: .v311,
            error: .invalidUTF8(field: "topic name"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "U+0000 in a topic",
            hex: "30 04 0002 6100",
            version: .v5,
            error: .nullCharacter(field: "topic name", offset: 1),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "U+0000 in a client identifier",
            hex: "10 0f \(connectHeader311) 02 003c 0003 610062",
            version: nil,
            error: .nullCharacter(field: "client identifier", offset: 1),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "reserved CONNECT flag bit",
            hex: "10 0d \(connectHeader311) 03 003c 0001 61",
            version: nil,
            error: .invalidValue(field: "connect flags", detail: "reserved bit 0 is set"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "will QoS without a will",
            hex: "10 0d \(connectHeader311) 0a 003c 0001 61",
            version: nil,
            error: .invalidValue(field: "will QoS", detail: "set without a will"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "will retain without a will",
            hex: "10 0d \(connectHeader311) 22 003c 0001 61",
            version: nil,
            error: .invalidValue(field: "will retain", detail: "set without a will"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "password without user name in 3.1.1",
            hex: "10 10 \(connectHeader311) 42 003c 0001 61 0001 70",
            version: nil,
            error: .invalidValue(field: "password flag", detail: "set without a user name (MQTT-3.1.2-22)"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "SUBSCRIBE with fixed header flags 0",
            hex: "80 06 0001 0001 61 00",
            version: .v311,
            error: .invalidFixedHeaderFlags(packetType: 8, flags: 0),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "PUBREL with fixed header flags 0",
            hex: "60 02 0001",
            version: .v5,
            error: .invalidFixedHeaderFlags(packetType: 6, flags: 0),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "PINGREQ with a flag set",
            hex: "c1 00",
            version: .v5,
            error: .invalidFixedHeaderFlags(packetType: 12, flags: 1),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "PUBLISH QoS 3",
            hex: "36 05 0001 61 0001",
            version: .v311,
            error: .invalidValue(field: "PUBLISH QoS", detail: "both QoS bits are set"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "PUBLISH QoS 0 with DUP",
            hex: "38 04 0001 61 00",
            version: .v5,
            error: .invalidFixedHeaderFlags(packetType: 3, flags: 8),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "PUBLISH QoS 1 with packet identifier 0",
            hex: "32 05 0001 61 0000",
            version: .v311,
            error: .invalidValue(field: "packet identifier", detail: "must not be 0"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "PUBACK with packet identifier 0",
            hex: "40 02 0000",
            version: .v5,
            error: .invalidValue(field: "packet identifier", detail: "must not be 0"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "packet type 0",
            hex: "00 00",
            version: .v5,
            error: .unknownPacketType(0),
            reasonCode: .protocolError
        ),
        Case(
            name: "AUTH under 3.1.1",
            hex: "f0 00",
            version: .v311,
            error: .unknownPacketType(15),
            reasonCode: .protocolError
        ),
        Case(
            name: "duplicate property",
            hex: "30 0e 0001 61 0a 02 00000001 02 00000002",
            version: .v5,
            error: .protocolViolation("property 0x2 appears twice in PUBLISH"),
            reasonCode: .protocolError
        ),
        Case(
            name: "duplicate subscription identifier in SUBSCRIBE",
            hex: "82 0b 0001 04 0b01 0b02 0001 61 00",
            version: .v5,
            error: .protocolViolation("property 0xb appears twice in SUBSCRIBE"),
            reasonCode: .protocolError
        ),
        Case(
            name: "property not allowed in the packet",
            hex: "30 09 0001 61 05 11 00000001",
            version: .v5,
            error: .invalidProperty(identifier: 0x11, packetType: 3),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "unknown property identifier",
            hex: "40 05 0001 00 01 7f",
            version: .v5,
            error: .invalidProperty(identifier: 0x7f, packetType: 4),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "will delay outside the will properties",
            hex: "10 13 \(connectHeader5) 02 003c 05 18 00000001 0001 61",
            version: nil,
            error: .invalidProperty(identifier: 0x18, packetType: 1),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "subscription identifier 0",
            hex: "82 09 0001 02 0b00 0001 61 00",
            version: .v5,
            error: .protocolViolation("subscription identifier 0"),
            reasonCode: .protocolError
        ),
        Case(
            name: "receive maximum 0",
            hex: "10 11 \(connectHeader5) 02 003c 03 21 0000 0001 61",
            version: nil,
            error: .protocolViolation("receive maximum 0"),
            reasonCode: .protocolError
        ),
        Case(
            name: "maximum packet size 0",
            hex: "10 13 \(connectHeader5) 02 003c 05 27 00000000 0001 61",
            version: nil,
            error: .protocolViolation("maximum packet size 0"),
            reasonCode: .protocolError
        ),
        Case(
            name: "property length beyond the packet",
            hex: "40 05 0001 00 09 1f",
            version: .v5,
            error: .truncated(field: "properties"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "string longer than the packet",
            hex: "30 04 000a 6162",
            version: .v311,
            error: .truncated(field: "topic name"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "CONNECT ends inside the client identifier",
            hex: "10 0d \(connectHeader311) 02 003c 0005 61",
            version: nil,
            error: .truncated(field: "client identifier"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "trailing bytes after PINGREQ",
            hex: "c0 01 00",
            version: .v311,
            error: .trailingBytes(count: 1),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "trailing bytes after a 3.1.1 PUBACK",
            hex: "40 03 0001 00",
            version: .v311,
            error: .trailingBytes(count: 1),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "PUBLISH before CONNECT",
            hex: "30 04 0001 61 00",
            version: nil,
            error: .protocolViolation("PUBLISH before CONNECT"),
            reasonCode: .protocolError
        ),
        Case(
            name: "second CONNECT",
            hex: "10 0d \(connectHeader311) 02 003c 0001 61",
            version: .v311,
            error: .protocolViolation("second CONNECT on the connection"),
            reasonCode: .protocolError
        ),
        Case(
            name: "MQTT 3.1 CONNECT (MQIsdp, level 3)",
            hex: "10 0f 0006 4d5149736470 03 02 003c 0001 61",
            version: nil,
            error: .unsupportedProtocolVersion(3),
            reasonCode: .unsupportedProtocolVersion
        ),
        Case(
            name: "protocol level 3 under the name MQTT",
            hex: "10 0d 0004 4d515454 03 02 003c 0001 61",
            version: nil,
            error: .unsupportedProtocolVersion(3),
            reasonCode: .unsupportedProtocolVersion
        ),
        Case(
            name: "protocol level 6",
            hex: "10 0d 0004 4d515454 06 02 003c 0001 61",
            version: nil,
            error: .unsupportedProtocolVersion(6),
            reasonCode: .unsupportedProtocolVersion
        ),
        Case(
            name: "unknown protocol name",
            hex: "10 0d 0004 4d515458 04 02 003c 0001 61",
            version: nil,
            error: .invalidProtocolName("MQTX"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "SUBSCRIBE without topic filters",
            hex: "82 03 0001 00",
            version: .v5,
            error: .protocolViolation("SUBSCRIBE without topic filters"),
            reasonCode: .protocolError
        ),
        Case(
            name: "UNSUBSCRIBE without topic filters",
            hex: "a2 02 0001",
            version: .v311,
            error: .protocolViolation("UNSUBSCRIBE without topic filters"),
            reasonCode: .protocolError
        ),
        Case(
            name: "subscription options with reserved bits in 5.0",
            hex: "82 07 0001 00 0001 61 40",
            version: .v5,
            error: .invalidValue(field: "subscription options", detail: "reserved bits are set"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "subscription options with v5 bits in 3.1.1",
            hex: "82 06 0001 0001 61 04",
            version: .v311,
            error: .invalidValue(field: "subscription options", detail: "reserved bits are set"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "subscription with QoS 3",
            hex: "82 07 0001 00 0001 61 03",
            version: .v5,
            error: .invalidValue(field: "subscription options", detail: "maximum QoS is 3"),
            reasonCode: .malformedPacket
        ),
        Case(
            name: "retain handling 3",
            hex: "82 07 0001 00 0001 61 30",
            version: .v5,
            error: .protocolViolation("retain handling 3 in SUBSCRIBE"),
            reasonCode: .protocolError
        ),
        Case(
            name: "request problem information 2",
            hex: "10 10 \(connectHeader5) 02 003c 02 17 02 0001 61",
            version: nil,
            error: .protocolViolation("request problem information is 2, must be 0 or 1"),
            reasonCode: .protocolError
        ),
        Case(
            name: "3.1.1 CONNACK return code 6",
            hex: "20 02 00 06",
            version: .v311,
            error: .invalidValue(field: "connect return code", detail: "6 is not 0-5"),
            reasonCode: .malformedPacket
        ),
    ]

    @Test("malformed input is rejected with its specific error", arguments: cases)
    func rejects(testCase: Case) {
        var buffer = ByteBuffer(hex: testCase.hex)
        let before = buffer
        var decoder = PacketDecoder(maximumPacketSize: testCase.limit, version: testCase.version)
        let error = #expect(throws: PacketDecodingError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error == testCase.error)
        #expect(error?.reasonCode == testCase.reasonCode)
        #expect(buffer == before, "an error must leave the buffer untouched")
        #expect(decoder.version == testCase.version)
    }

    @Test("an incomplete fixed header asks for more bytes")
    func incompleteHeader() throws {
        var decoder = PacketDecoder(maximumPacketSize: 1 << 20, version: .v5)
        for hex in ["", "30", "30 80", "30 8080", "30 808080"] {
            var buffer = ByteBuffer(hex: hex)
            #expect(try decoder.decode(buffer: &buffer) == nil)
            #expect(buffer.readableBytes == hex.filter { !$0.isWhitespace }.count / 2)
        }
    }

    @Test("a password without user name is accepted in 5.0")
    func passwordWithoutUsernameV5() throws {
        var buffer = ByteBuffer(hex: "10 11 \(Self.connectHeader5) 42 003c 00 0001 61 0001 70")
        var decoder = PacketDecoder(maximumPacketSize: 1 << 20)
        let packet = try decoder.decode(buffer: &buffer)
        #expect(
            packet
                == .connect(
                    Connect(
                        version: .v5,
                        cleanStart: true,
                        keepAliveSeconds: 60,
                        clientID: "a",
                        password: ByteBuffer(string: "p")
                    )
                )
        )
        #expect(decoder.version == .v5)
    }

    @Test("the size limit counts the fixed header")
    func sizeLimitIncludesHeader() throws {
        // PINGREQ is 2 bytes: accepted at a limit of 2, rejected at 1.
        var buffer = ByteBuffer(hex: "c000")
        var decoder = PacketDecoder(maximumPacketSize: 2, version: .v5)
        #expect(try decoder.decode(buffer: &buffer) == .pingreq)
        buffer = ByteBuffer(hex: "c000")
        decoder.maximumPacketSize = 1
        #expect(throws: PacketDecodingError.packetTooLarge(size: 2, limit: 1)) { try decoder.decode(buffer: &buffer) }
    }
}
