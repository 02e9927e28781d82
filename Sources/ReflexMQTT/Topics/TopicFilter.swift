/// A validated topic filter from SUBSCRIBE or UNSUBSCRIBE, with a shared subscription's share
/// name split off. Create one with ``TopicRules/parseFilter(_:maxLength:maxLevels:allowsShared:)``.
///
/// Two filters are equal when the clients sent the same string: `$share/a/x` and `x` differ.
public struct TopicFilter: Hashable, Sendable, CustomStringConvertible {
    /// The filter that topics are matched against, without any `$share/{name}/` prefix.
    public let filter: String
    /// The share name of a shared subscription (`g` in `$share/g/sensors/#`), or nil.
    public let shareGroup: String?
    /// The filter as the client sent it, including any `$share/{name}/` prefix.
    public let original: String
    /// Whether ``filter`` contains `+` or `#`.
    public let hasWildcards: Bool

    /// Whether this is a shared subscription (MQTT 5.0 §4.8.2).
    public var isShared: Bool { shareGroup != nil }

    public var description: String { original }

    init(filter: String, shareGroup: String?, original: String, hasWildcards: Bool) {
        self.filter = filter
        self.shareGroup = shareGroup
        self.original = original
        self.hasWildcards = hasWildcards
    }

    // `original` determines the other fields, so it alone is compared and hashed.
    public static func == (lhs: TopicFilter, rhs: TopicFilter) -> Bool { lhs.original == rhs.original }
    public func hash(into hasher: inout Hasher) { hasher.combine(original) }

    /// Whether `topic` matches this filter (see ``matches(filter:topic:)``).
    /// - Complexity: O(n + m) in the UTF-8 lengths of filter and topic.
    public func matches(_ topic: String) -> Bool { Self.matches(filter: filter, topic: topic) }

    /// Whether a topic name matches a topic filter, for one-off checks; the indexes route many
    /// topics against many filters faster.
    ///
    /// The rules of MQTT 5.0 §4.7: levels are separated by `/` and empty levels are levels
    /// (`a//b` has three); `+` matches exactly one level, also an empty one; `#` matches the
    /// parent level and any number of levels below it (`sport/#` matches `sport`); a filter
    /// starting with `+` or `#` does not match a topic starting with `$` (MQTT-4.7.2-1).
    /// - Parameters:
    ///   - filter: A valid topic filter without a `$share/{name}/` prefix.
    ///   - topic: A valid topic name.
    /// - Complexity: O(n + m) in the UTF-8 lengths of filter and topic; no allocation.
    public static func matches(filter: String, topic: String) -> Bool {
        var filter = filter
        var topic = topic
        return filter.withUTF8 { f in topic.withUTF8 { t in matches(filter: f, topic: t) } }
    }

    static func matches(filter f: UnsafeBufferPointer<UInt8>, topic t: UnsafeBufferPointer<UInt8>) -> Bool {
        if let first = t.first, first == Bytes.dollar, let wildcard = f.first,
            wildcard == Bytes.plus || wildcard == Bytes.hash
        {
            return false
        }
        var fi = 0
        var ti = 0
        var topicHasLevel = true
        while true {
            let fEnd = levelEnd(f, from: fi)
            let fIsWildcard = fEnd - fi == 1 && (f[fi] == Bytes.plus || f[fi] == Bytes.hash)
            if fIsWildcard && f[fi] == Bytes.hash { return true }
            guard topicHasLevel else { return false }
            let tEnd = levelEnd(t, from: ti)
            if !fIsWildcard && !levelsEqual(f, fi..<fEnd, t, ti..<tEnd) { return false }
            let filterHasMore = fEnd < f.count
            let topicHasMore = tEnd < t.count
            guard filterHasMore else { return !topicHasMore }
            fi = fEnd + 1
            if topicHasMore { ti = tEnd + 1 } else { topicHasLevel = false }
        }
    }

    /// The index of the `/` ending the level that starts at `start`, or `bytes.count`.
    @inline(__always)
    static func levelEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        while i < bytes.count && bytes[i] != Bytes.slash { i += 1 }
        return i
    }

    @inline(__always)
    static func levelsEqual(
        _ a: UnsafeBufferPointer<UInt8>,
        _ ra: Range<Int>,
        _ b: UnsafeBufferPointer<UInt8>,
        _ rb: Range<Int>
    ) -> Bool {
        guard ra.count == rb.count else { return false }
        var i = ra.lowerBound
        var j = rb.lowerBound
        while i < ra.upperBound {
            if a[i] != b[j] { return false }
            i += 1
            j += 1
        }
        return true
    }
}
