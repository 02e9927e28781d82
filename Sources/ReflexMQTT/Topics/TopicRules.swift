/// Validation of topic names and topic filters (MQTT 5.0 §4.7.1, §4.7.3, §4.8.2).
///
/// Validate once, where a PUBLISH or SUBSCRIBE enters the broker; the indexes downstream trust
/// what they get. Both functions scan the UTF-8 bytes once and do not allocate unless they throw
/// (``parseFilter(_:maxLength:maxLevels:allowsShared:)`` creates the strings of the ``TopicFilter``).
public enum TopicRules {
    /// The longest topic the protocol can carry: a two-byte length prefix (MQTT 5.0 §1.5.4).
    public static let protocolMaxLength = 65_535

    /// The prefix of a shared subscription filter, `$share/` (MQTT 5.0 §4.8.2).
    public static let sharePrefix = "$share/"

    /// Checks a topic name from a PUBLISH or a will message.
    ///
    /// A valid name is non-empty, at most `maxLength` UTF-8 bytes, at most `maxLevels` levels,
    /// and contains neither wildcards nor U+0000. Empty levels (`a//b`, `/a`, `a/`) are allowed.
    /// Names starting with `$` are valid here; whether a client may publish to them is policy.
    /// - Parameters:
    ///   - topic: The topic name as received.
    ///   - maxLength: The largest accepted length in UTF-8 bytes.
    ///   - maxLevels: The largest accepted number of levels (`a/b` has two).
    /// - Throws: The first problem found, naming the topic.
    /// - Complexity: O(n) in the UTF-8 length of `topic`.
    public static func validateTopicName(
        _ topic: String,
        maxLength: Int = protocolMaxLength,
        maxLevels: Int = .max
    ) throws(TopicValidationError) {
        let length = topic.utf8.count
        if length == 0 { throw .empty(.topicName) }
        if length > maxLength {
            throw .tooLong(.topicName, topic, length: length, maxLength: maxLength)
        }
        var levels = 1
        var offset = 0
        for byte in topic.utf8 {
            switch byte {
            case Bytes.slash: levels += 1
            case Bytes.plus, Bytes.hash: throw .wildcardInTopicName(topic, offset: offset)
            case 0: throw .nullCharacter(.topicName, topic, offset: offset)
            default: break
            }
            offset += 1
        }
        if levels > maxLevels {
            throw .tooManyLevels(.topicName, topic, levels: levels, maxLevels: maxLevels)
        }
    }

    /// Checks a topic filter from a SUBSCRIBE or UNSUBSCRIBE and splits off a shared
    /// subscription's share name.
    ///
    /// `+` must fill a whole level; `#` must fill the last level. A filter starting with
    /// `$share/` is a shared subscription `$share/{name}/{filter}`: the name is non-empty and has
    /// no `/`, `+` or `#`, and a valid filter follows. `maxLength` applies to the whole string as
    /// sent, `maxLevels` to the filter after the share name.
    /// - Parameters:
    ///   - filter: The topic filter as received.
    ///   - maxLength: The largest accepted length in UTF-8 bytes.
    ///   - maxLevels: The largest accepted number of levels.
    ///   - allowsShared: Whether `$share/` filters are accepted. Pass `false` when shared
    ///     subscriptions are disabled or not allowed in the context (a v5 subscription with
    ///     No Local set must not be shared, MQTT-3.8.3-4).
    /// - Returns: The parsed filter.
    /// - Throws: The first problem found, naming the filter.
    /// - Complexity: O(n) in the UTF-8 length of `filter`.
    public static func parseFilter(
        _ filter: String,
        maxLength: Int = protocolMaxLength,
        maxLevels: Int = .max,
        allowsShared: Bool = true
    ) throws(TopicValidationError) -> TopicFilter {
        let utf8 = filter.utf8
        let length = utf8.count
        if length == 0 { throw .empty(.topicFilter) }
        if length > maxLength {
            throw .tooLong(.topicFilter, filter, length: length, maxLength: maxLength)
        }
        guard utf8.starts(with: sharePrefix.utf8) else {
            let hasWildcards = try scanFilter(filter, from: utf8.startIndex, maxLevels: maxLevels)
            return TopicFilter(filter: filter, shareGroup: nil, original: filter, hasWildcards: hasWildcards)
        }
        if !allowsShared { throw .sharedSubscriptionNotAllowed(filter) }
        let nameStart = utf8.index(utf8.startIndex, offsetBy: sharePrefix.utf8.count)
        var nameEnd = nameStart
        while nameEnd != utf8.endIndex, utf8[nameEnd] != Bytes.slash {
            let byte = utf8[nameEnd]
            if byte == Bytes.plus || byte == Bytes.hash { throw .invalidShareName(filter) }
            utf8.formIndex(after: &nameEnd)
        }
        if nameEnd == nameStart { throw .invalidShareName(filter) }
        guard nameEnd != utf8.endIndex else { throw .missingSharedFilter(filter) }
        let filterStart = utf8.index(after: nameEnd)
        guard filterStart != utf8.endIndex else { throw .missingSharedFilter(filter) }
        let hasWildcards = try scanFilter(filter, from: filterStart, maxLevels: maxLevels)
        return TopicFilter(
            filter: String(filter[filterStart...]),
            shareGroup: String(filter[nameStart..<nameEnd]),
            original: filter,
            hasWildcards: hasWildcards
        )
    }

    /// Checks the filter part of `filter` starting at `start`; returns whether it has wildcards.
    private static func scanFilter(
        _ filter: String,
        from start: String.Index,
        maxLevels: Int
    ) throws(TopicValidationError) -> Bool {
        var levels = 1
        var hasWildcards = false
        var offset = filter.utf8.distance(from: filter.utf8.startIndex, to: start)
        // The byte before the current one, or `slash` at the start of a level.
        var previous = Bytes.slash
        var sawMultiLevel = false
        for byte in filter.utf8[start...] {
            if sawMultiLevel {
                // Anything after '#' is either a further level or more characters in its level.
                if byte == Bytes.slash { throw .multiLevelWildcardNotLast(filter, offset: offset - 1) }
                throw .multiLevelWildcardNotAlone(filter, offset: offset - 1)
            }
            switch byte {
            case Bytes.slash:
                levels += 1
            case Bytes.plus:
                hasWildcards = true
                if previous != Bytes.slash { throw .singleLevelWildcardNotAlone(filter, offset: offset) }
            case Bytes.hash:
                hasWildcards = true
                if previous != Bytes.slash { throw .multiLevelWildcardNotAlone(filter, offset: offset) }
                sawMultiLevel = true
            case 0:
                throw .nullCharacter(.topicFilter, filter, offset: offset)
            default:
                if previous == Bytes.plus {
                    throw .singleLevelWildcardNotAlone(filter, offset: offset - 1)
                }
            }
            previous = byte
            offset += 1
        }
        if levels > maxLevels {
            throw .tooManyLevels(.topicFilter, filter, levels: levels, maxLevels: maxLevels)
        }
        return hasWildcards
    }
}

/// The bytes that matter in topics.
enum Bytes {
    static let slash = UInt8(ascii: "/")
    static let plus = UInt8(ascii: "+")
    static let hash = UInt8(ascii: "#")
    static let dollar = UInt8(ascii: "$")
}
