public import NIOCore

/// Turns bytes from one MQTT connection into ``Packet`` values, for MQTT 3.1.1 and 5.0.
///
/// The decoder is a pure value: it does no I/O and keeps only the protocol version of the
/// connection. Feed it the connection's receive buffer after every read and call
/// ``decode(buffer:)`` until it returns `nil`:
///
/// ```swift
/// var decoder = PacketDecoder(maximumPacketSize: 1 << 20)
/// while let packet = try decoder.decode(buffer: &receiveBuffer) {
///     handle(packet)
/// }
/// ```
///
/// Every error is final for the connection: the broker answers with the error's
/// ``PacketDecodingError/reasonCode`` (CONNACK before a session exists, DISCONNECT after) and
/// closes. The buffer is left untouched when an error is thrown.
///
/// The first packet must be CONNECT; its protocol level selects the format of every later packet
/// (``version``). A client-side decoder, which never sees a CONNECT, starts with a known version
/// through ``init(maximumPacketSize:version:)``.
///
/// Byte-valued fields are not copied: a PUBLISH payload, the will payload, the password,
/// correlation and authentication data are slices sharing storage with the receive buffer. Copy
/// them (`ByteBuffer(buffer: slice)` is not a copy; `ByteBuffer(bytes: slice.readableBytesView)` is)
/// before storing them for long if the receive buffer is large.
public struct PacketDecoder: Sendable {
    /// The largest packet, fixed header included, that the decoder accepts. A larger packet is
    /// rejected with ``PacketDecodingError/packetTooLarge(size:limit:)`` as soon as its fixed
    /// header has arrived, before its body is buffered.
    public var maximumPacketSize: Int

    /// The protocol version of the connection: `nil` until a CONNECT was decoded, then the
    /// CONNECT's version, which is used for every later packet.
    public private(set) var version: ProtocolVersion?

    /// Creates a decoder for a new server-side connection, which expects CONNECT first.
    /// - Parameter maximumPacketSize: the largest packet accepted, in bytes, fixed header included.
    public init(maximumPacketSize: Int) {
        self.maximumPacketSize = maximumPacketSize
        self.version = nil
    }

    /// Creates a decoder whose protocol version is already known, for the client side of a
    /// connection (which receives CONNACK first) and for tests.
    /// - Parameters:
    ///   - maximumPacketSize: the largest packet accepted, in bytes, fixed header included.
    ///   - version: the version to decode with; `nil` behaves like ``init(maximumPacketSize:)``.
    public init(maximumPacketSize: Int, version: ProtocolVersion?) {
        self.maximumPacketSize = maximumPacketSize
        self.version = version
    }

    /// Decodes the next packet from `buffer`.
    ///
    /// - Parameter buffer: the bytes received so far. On success exactly one packet's bytes are
    ///   consumed; when `nil` is returned or an error thrown, nothing is consumed.
    /// - Returns: the packet, or `nil` when the buffer does not hold a whole packet yet.
    /// - Throws: ``PacketDecodingError`` for bytes that can never become a valid packet. Errors
    ///   visible in the fixed header (type, flags, remaining length, size) are thrown as soon as
    ///   the fixed header has arrived.
    public mutating func decode(buffer: inout ByteBuffer) throws(PacketDecodingError) -> Packet? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        let type = first >> 4
        let flags = first & 0x0F
        try self.checkTypeAndFlags(type: type, flags: flags)

        let remainingLength: Int
        let lengthBytes: Int
        switch buffer.peekVariableByteInteger(at: buffer.readerIndex + 1) {
        case .incomplete: return nil
        case .malformed: throw .malformedRemainingLength
        case .complete(let value, let length):
            remainingLength = value
            lengthBytes = length
        }
        let headerSize = 1 + lengthBytes
        let packetSize = headerSize + remainingLength
        guard packetSize <= self.maximumPacketSize else {
            throw .packetTooLarge(size: packetSize, limit: self.maximumPacketSize)
        }
        guard
            buffer.readableBytes >= packetSize,
            var body = buffer.getSlice(at: buffer.readerIndex + headerSize, length: remainingLength)
        else { return nil }

        let packet = try self.decodeBody(type: type, flags: flags, body: &body)
        guard body.readableBytes == 0 else { throw .trailingBytes(count: body.readableBytes) }
        if case .connect(let connect) = packet { self.version = connect.version }
        buffer.moveReaderIndex(forwardBy: packetSize)
        return packet
    }

    // MARK: - Fixed header

    /// Checks what the first byte alone decides (MQTT 5.0 §2.1.2, §2.1.3; 3.1.1 §2.2).
    private func checkTypeAndFlags(type: UInt8, flags: UInt8) throws(PacketDecodingError) {
        if type == 0 { throw .unknownPacketType(type) }
        guard let version = self.version else {
            guard type == 1 else {
                throw .protocolViolation("\(Packet.name(ofType: type).uppercased()) before CONNECT")
            }
            try Self.checkFlags(type: type, flags: flags, expected: 0)
            return
        }
        switch type {
        case 1: throw .protocolViolation("second CONNECT on the connection")
        case 3:
            let qos = (flags >> 1) & 0b11
            guard qos != 3 else { throw .invalidValue(field: "PUBLISH QoS", detail: "both QoS bits are set") }
            // MQTT-3.3.1-2 (both versions): DUP must be 0 for QoS 0.
            guard qos != 0 || flags & 0b1000 == 0 else {
                throw .invalidFixedHeaderFlags(packetType: type, flags: flags)
            }
        case 6, 8, 10: try Self.checkFlags(type: type, flags: flags, expected: 0b0010)
        case 15:
            guard version == .v5 else { throw .unknownPacketType(type) }
            try Self.checkFlags(type: type, flags: flags, expected: 0)
        default: try Self.checkFlags(type: type, flags: flags, expected: 0)
        }
    }

    private static func checkFlags(type: UInt8, flags: UInt8, expected: UInt8) throws(PacketDecodingError) {
        guard flags == expected else { throw .invalidFixedHeaderFlags(packetType: type, flags: flags) }
    }

    // MARK: - Dispatch

    private func decodeBody(type: UInt8, flags: UInt8, body: inout ByteBuffer) throws(PacketDecodingError) -> Packet {
        guard let version = self.version else {
            // Only CONNECT gets here before a version is known (checkTypeAndFlags).
            return .connect(try body.readConnect())
        }
        switch type {
        case 2: return .connack(try body.readConnAck(version: version))
        case 3: return .publish(try body.readPublish(flags: flags, version: version))
        case 4: return .puback(try body.readPublishAck(type: type, version: version))
        case 5: return .pubrec(try body.readPublishAck(type: type, version: version))
        case 6: return .pubrel(try body.readPublishAck(type: type, version: version))
        case 7: return .pubcomp(try body.readPublishAck(type: type, version: version))
        case 8: return .subscribe(try body.readSubscribe(version: version))
        case 9: return .suback(try body.readSubAck(version: version))
        case 10: return .unsubscribe(try body.readUnsubscribe(version: version))
        case 11: return .unsuback(try body.readUnsubAck(version: version))
        case 12: return .pingreq
        case 13: return .pingresp
        case 14: return .disconnect(try body.readDisconnect(version: version))
        case 15: return .auth(try body.readAuth())
        default: preconditionFailure("packet type \(type) passed checkTypeAndFlags")
        }
    }
}
