import NIOCore

/// Frames a client connection's bytes into ``Packet`` values with ``PacketDecoder``.
struct MQTTPacketFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Packet
    var decoder: PacketDecoder

    init(version: ProtocolVersion, maximumPacketSize: Int) {
        decoder = PacketDecoder(maximumPacketSize: maximumPacketSize, version: version)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let packet = try decoder.decode(buffer: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(packet))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Writes ``Packet`` values with ``PacketEncoder``.
struct MQTTPacketFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = Packet
    let version: ProtocolVersion

    func encode(data: Packet, out: inout ByteBuffer) throws {
        PacketEncoder.encode(data, version: version, into: &out)
    }
}
