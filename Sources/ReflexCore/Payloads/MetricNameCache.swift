#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Validated metric names by their position in a group (a JSON `values` object, a line's field
/// set), plus the duplicate check within the group.
///
/// Consecutive groups of one payload usually repeat their keys in the same order, so most keys
/// are found by comparing bytes, without building a `String` or validating again.
/// Invariant: while a group is read, entries `0..<position` are that group's names so far, and
/// all entries are distinct; so a key found at its own position cannot be a duplicate, and a
/// key that is not found only needs comparing with the entries before its position.
/// - Complexity: O(key length) per hit; a miss is O(position) up to 32 keys, then O(1) hashed.
struct MetricNameCache {
    /// `key` is the name's bytes, nil for names that had escapes (never matched by bytes).
    private var entries: [(key: [UInt8]?, name: MetricName)] = []
    private var seen: Set<MetricName> = []
    private var isSeenBuilt = false

    /// Call before the first key of each group.
    mutating func startGroup() {
        if isSeenBuilt {
            seen.removeAll(keepingCapacity: true)
            isSeenBuilt = false
        }
    }

    /// The name at `position` if its bytes are `prefix` + "." + `suffix` (or just `suffix` when
    /// `prefix` is nil).
    @inline(__always)
    func lookup(
        position: Int,
        prefix: UnsafeBufferPointer<UInt8>? = nil,
        suffix: UnsafeBufferPointer<UInt8>
    ) -> MetricName? {
        guard position < entries.count, let key = entries[position].key else { return nil }
        let matches = key.withUnsafeBufferPointer { stored -> Bool in
            guard let prefix else { return stored.count == suffix.count && Self.equal(stored, 0, suffix) }
            return stored.count == prefix.count + 1 + suffix.count
                && Self.equal(stored, 0, prefix)
                && stored[prefix.count] == UInt8(ascii: ".")
                && Self.equal(stored, prefix.count + 1, suffix)
        }
        return matches ? entries[position].name : nil
    }

    /// Records a name that ``lookup(position:prefix:suffix:)`` did not find.
    /// - Returns: false if the group already has this name (nothing is recorded then).
    mutating func record(_ name: MetricName, key: [UInt8]?, position: Int) -> Bool {
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
            entries.append((key, name))
        }
        return true
    }

    /// Whether `stored[offset...]` starts with `part`.
    @inline(__always)
    private static func equal(
        _ stored: UnsafeBufferPointer<UInt8>,
        _ offset: Int,
        _ part: UnsafeBufferPointer<UInt8>
    )
        -> Bool
    {
        guard offset + part.count <= stored.count else { return false }
        guard part.count > 0, let storedBase = stored.baseAddress, let partBase = part.baseAddress else { return true }
        return memcmp(storedBase + offset, partBase, part.count) == 0
    }
}
