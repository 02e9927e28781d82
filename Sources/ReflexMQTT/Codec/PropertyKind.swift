/// Where a property list appears: a packet type, or the will properties of a CONNECT.
///
/// The decoder checks every property identifier against the packets the MQTT 5.0 property table
/// (§2.2.2.2) allows it in; this type is the column of that table.
struct PropertyContext: Equatable {
    /// The bit of this context in ``PropertyKind/allowed``.
    let bit: UInt32
    /// The packet type reported in errors.
    let packetType: UInt8

    static func packet(_ type: UInt8) -> PropertyContext { PropertyContext(bit: 1 << UInt32(type), packetType: type) }
    static let will = PropertyContext(bit: 1 << 16, packetType: 1)
}

/// The MQTT 5.0 property table (§2.2.2.2): which identifiers exist and where they are allowed.
enum PropertyKind {
    private static let willBit: UInt32 = 1 << 16

    private static func mask(_ types: [UInt8]) -> UInt32 { types.reduce(0) { $0 | (1 << UInt32($1)) } }

    /// Indexed by identifier; built once so the per-property lookup does not allocate.
    private static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 0x2B)
        for id: UInt8 in [0x01, 0x02, 0x03, 0x08, 0x09] { table[Int(id)] = mask([3]) | willBit }
        table[0x0B] = mask([3, 8])
        table[0x11] = mask([1, 2, 14])
        for id: UInt8 in [0x12, 0x13, 0x1A, 0x24, 0x25, 0x28, 0x29, 0x2A] { table[Int(id)] = mask([2]) }
        table[0x15] = mask([1, 2, 15])
        table[0x16] = mask([1, 2, 15])
        table[0x17] = mask([1])
        table[0x18] = willBit
        table[0x19] = mask([1])
        table[0x1C] = mask([2, 14])
        table[0x1F] = mask([2, 4, 5, 6, 7, 9, 11, 14, 15])
        for id: UInt8 in [0x21, 0x22, 0x27] { table[Int(id)] = mask([1, 2]) }
        table[0x23] = mask([3])
        table[0x26] = mask([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15]) | willBit
        return table
    }()

    /// The contexts an identifier may appear in, as a bit set of ``PropertyContext/bit``; 0 for
    /// identifiers the specification does not define.
    static func allowed(_ identifier: Int) -> UInt32 {
        identifier >= 0 && identifier < table.count ? table[identifier] : 0
    }
}
