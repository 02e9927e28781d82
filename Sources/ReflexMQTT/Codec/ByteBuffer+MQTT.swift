import NIOCore

// MQTT data representations (MQTT 5.0 §1.5, MQTT 3.1.1 §1.5): two- and four-byte integers,
// variable byte integers, UTF-8 strings and binary data, read from and written to a `ByteBuffer`.
//
// The readers throw ``PacketDecodingError`` and name the field they were reading, so a caller
// never has to map a `nil` to an error by hand. They are used on a slice that holds exactly one
// packet body, so running out of bytes always means the packet is truncated.

/// The largest value a variable byte integer can hold (MQTT 5.0 §1.5.5): 268,435,455.
let maximumVariableByteInteger = 268_435_455

/// Outcome of looking at a variable byte integer that may not have fully arrived yet.
enum VariableByteIntegerPeek: Equatable {
    /// The integer is complete: its value and how many bytes encode it.
    case complete(value: Int, length: Int)
    /// More bytes are needed before the integer can be read.
    case incomplete
    /// More than four bytes, or a non-minimal encoding (MQTT-1.5.5-1).
    case malformed
}

extension ByteBuffer {
    // MARK: - Variable byte integers

    /// Looks at a variable byte integer at `index` without moving the reader index.
    /// - Complexity: O(1); at most four bytes are read.
    func peekVariableByteInteger(at index: Int) -> VariableByteIntegerPeek {
        var value = 0
        var multiplier = 1
        for offset in 0..<4 {
            guard let byte = self.getInteger(at: index + offset, as: UInt8.self) else { return .incomplete }
            value += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 {
                // A final zero byte after continuation bytes adds nothing: a non-minimal encoding.
                if offset > 0 && byte == 0 { return .malformed }
                return .complete(value: value, length: offset + 1)
            }
            multiplier &<<= 7
        }
        return .malformed
    }

    /// Reads a variable byte integer (MQTT 5.0 §1.5.5).
    /// - Throws: ``PacketDecodingError/truncated(field:)`` when the buffer ends inside it,
    ///   ``PacketDecodingError/invalidValue(field:detail:)`` when it is longer than four bytes.
    mutating func readVariableByteInteger(field: String) throws(PacketDecodingError) -> Int {
        switch self.peekVariableByteInteger(at: self.readerIndex) {
        case .complete(let value, let length):
            self.moveReaderIndex(forwardBy: length)
            return value
        case .incomplete:
            throw .truncated(field: field)
        case .malformed:
            throw .invalidValue(field: field, detail: "not a valid variable byte integer")
        }
    }

    /// Writes `value` as a variable byte integer.
    /// - Precondition: `0 <= value <= 268_435_455`.
    @discardableResult
    mutating func writeVariableByteInteger(_ value: Int) -> Int {
        precondition(value >= 0 && value <= maximumVariableByteInteger, "variable byte integer out of range")
        var remaining = value
        var written = 0
        repeat {
            var byte = UInt8(remaining & 0x7F)
            remaining >>= 7
            if remaining > 0 { byte |= 0x80 }
            self.writeInteger(byte)
            written += 1
        } while remaining > 0
        return written
    }

    /// The number of bytes `value` takes as a variable byte integer (1 to 4).
    static func variableByteIntegerSize(_ value: Int) -> Int {
        switch value {
        case ..<128: 1
        case ..<16_384: 2
        case ..<2_097_152: 3
        default: 4
        }
    }

    // MARK: - Fixed-size integers

    /// Reads one byte or throws ``PacketDecodingError/truncated(field:)``.
    mutating func readByte(field: String) throws(PacketDecodingError) -> UInt8 {
        guard let value = self.readInteger(as: UInt8.self) else { throw .truncated(field: field) }
        return value
    }

    /// Reads a big-endian two-byte integer or throws ``PacketDecodingError/truncated(field:)``.
    mutating func readTwoByteInteger(field: String) throws(PacketDecodingError) -> UInt16 {
        guard let value = self.readInteger(as: UInt16.self) else { throw .truncated(field: field) }
        return value
    }

    /// Reads a big-endian four-byte integer or throws ``PacketDecodingError/truncated(field:)``.
    mutating func readFourByteInteger(field: String) throws(PacketDecodingError) -> UInt32 {
        guard let value = self.readInteger(as: UInt32.self) else { throw .truncated(field: field) }
        return value
    }

    /// Reads a packet identifier, which must not be 0 (MQTT-2.2.1-3).
    mutating func readPacketIdentifier() throws(PacketDecodingError) -> UInt16 {
        let id = try self.readTwoByteInteger(field: "packet identifier")
        guard id != 0 else { throw .invalidValue(field: "packet identifier", detail: "must not be 0") }
        return id
    }

    // MARK: - Strings and binary data

    /// Reads a UTF-8 encoded string (MQTT 5.0 §1.5.4): a two-byte length, then the bytes.
    ///
    /// The bytes must be well-formed UTF-8 (which excludes surrogates, MQTT-1.5.4-1) and must not
    /// contain U+0000 (MQTT-1.5.4-2). Non-characters are accepted (MQTT-1.5.4-3).
    /// - Throws: ``PacketDecodingError/truncated(field:)``, ``PacketDecodingError/nullCharacter(field:offset:)``
    ///   or ``PacketDecodingError/invalidUTF8(field:)``.
    mutating func readMQTTString(field: String) throws(PacketDecodingError) -> String {
        let length = Int(try self.readTwoByteInteger(field: field))
        guard self.readableBytes >= length else { throw .truncated(field: field) }
        let decoded = self.withUnsafeReadableBytes { raw -> Result<String, PacketDecodingError> in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<length])
            if let offset = bytes.firstIndex(of: 0) { return .failure(.nullCharacter(field: field, offset: offset)) }
            let string = bytes.withMemoryRebound(to: UInt8.self) { String(validating: $0, as: UTF8.self) }
            return string.map { .success($0) } ?? .failure(.invalidUTF8(field: field))
        }
        let string = try decoded.get()
        self.moveReaderIndex(forwardBy: length)
        return string
    }

    /// Reads binary data (MQTT 5.0 §1.5.6): a two-byte length, then the bytes, returned as a
    /// slice that shares storage with this buffer (no copy).
    mutating func readBinaryData(field: String) throws(PacketDecodingError) -> ByteBuffer {
        let length = Int(try self.readTwoByteInteger(field: field))
        guard let slice = self.readSlice(length: length) else { throw .truncated(field: field) }
        return slice
    }

    /// Writes a UTF-8 encoded string with its two-byte length prefix.
    /// - Precondition: the string is at most 65,535 bytes of UTF-8.
    mutating func writeMQTTString(_ string: String) {
        let count = string.utf8.count
        precondition(count <= Int(UInt16.max), "MQTT string longer than 65535 bytes")
        self.writeInteger(UInt16(truncatingIfNeeded: count))
        self.writeString(string)
    }

    /// Writes binary data with its two-byte length prefix.
    /// - Precondition: the data is at most 65,535 bytes.
    mutating func writeBinaryData(_ data: ByteBuffer) {
        precondition(data.readableBytes <= Int(UInt16.max), "MQTT binary data longer than 65535 bytes")
        self.writeInteger(UInt16(truncatingIfNeeded: data.readableBytes))
        self.writeImmutableBuffer(data)
    }

    /// The encoded size of a UTF-8 string field: two length bytes plus the UTF-8 bytes.
    static func mqttStringSize(_ string: String) -> Int { 2 + string.utf8.count }

    /// The encoded size of a binary data field: two length bytes plus the data.
    static func binaryDataSize(_ data: ByteBuffer) -> Int { 2 + data.readableBytes }
}
