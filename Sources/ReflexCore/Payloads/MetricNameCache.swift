#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Validated metric names by their position in a group (a JSON `values` object, the fields of a
/// line of one measurement), plus the duplicate check within the group.
///
/// Consecutive groups of one payload usually repeat their keys in the same order, so most keys
/// are found by comparing bytes, without building a `String` or validating again. Keys are
/// ranges of the payload being decoded (no copies).
/// Invariant: while a group is read, entries `0..<position` are that group's names so far, and
/// all entries are distinct; so a key found at its own position cannot be a duplicate, and a
/// key that is not found only needs comparing with the entries before its position.
/// - Complexity: O(key length) per hit; a miss is O(position) up to 32 keys, then O(1) hashed.
struct MetricNameCache {
    private let payload: UnsafeBufferPointer<UInt8>
    /// `key` is where the name's bytes are in the payload; nil for names that had escapes
    /// (never matched by bytes).
    private var entries: [(key: Range<Int>?, name: MetricName)] = []
    private var seen: Set<MetricName> = []
    private var isSeenBuilt = false

    init(payload: UnsafeBufferPointer<UInt8>) {
        self.payload = payload
    }

    /// Call before the first key of each group.
    mutating func startGroup() {
        if isSeenBuilt {
            seen.removeAll(keepingCapacity: true)
            isSeenBuilt = false
        }
    }

    /// The name at `position` if its bytes are those of `key`, a range of the payload.
    @inline(__always)
    func lookup(position: Int, key: Range<Int>) -> MetricName? {
        guard position < entries.count, let stored = entries[position].key, stored.count == key.count else {
            return nil
        }
        guard let base = payload.baseAddress, !key.isEmpty else { return entries[position].name }
        return memcmp(base + stored.lowerBound, base + key.lowerBound, key.count) == 0 ? entries[position].name : nil
    }

    /// Records a name that ``lookup(position:key:)`` did not find.
    /// - Returns: false if the group already has this name (nothing is recorded then).
    mutating func record(_ name: MetricName, key: Range<Int>?, position: Int) -> Bool {
        if position < 32 {
            for earlier in 0..<position where entries[earlier].name == name { return false }
        } else {
            if !isSeenBuilt {
                for earlier in 0..<position { seen.insert(entries[earlier].name) }
                isSeenBuilt = true
            }
            guard seen.insert(name).inserted else { return false }
        }
        if position < entries.count {
            // Later entries may repeat this name; dropping them keeps the entries distinct.
            entries.removeSubrange((position + 1)...)
            entries[position] = (key, name)
        } else {
            if entries.isEmpty { entries.reserveCapacity(8) }
            entries.append((key, name))
        }
        return true
    }
}
