/// Why a topic name or topic filter was rejected (MQTT 5.0 §4.7, §4.8.2).
///
/// Every case carries the offending string as sent, so the message can name it; byte offsets
/// count UTF-8 bytes from the start of that string. ``reasonCode`` gives the v5 reason code for
/// SUBACK, PUBACK or DISCONNECT.
public enum TopicValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being validated.
    public enum Subject: String, Sendable, Equatable {
        case topicName = "topic name"
        case topicFilter = "topic filter"
    }

    /// The string is empty; topic names and filters are at least one character long (MQTT-4.7.3-1).
    case empty(Subject)
    /// The string is longer (in UTF-8 bytes) than the configured limit.
    case tooLong(Subject, String, length: Int, maxLength: Int)
    /// The string has more levels than the configured limit.
    case tooManyLevels(Subject, String, levels: Int, maxLevels: Int)
    /// The string contains U+0000 (MQTT-4.7.3-2).
    case nullCharacter(Subject, String, offset: Int)
    /// A topic name contains `+` or `#` (MQTT-3.3.2-2).
    case wildcardInTopicName(String, offset: Int)
    /// A filter has `#` before its last level (MQTT-4.7.1-1).
    case multiLevelWildcardNotLast(String, offset: Int)
    /// A filter has `#` sharing a level with other characters, as in `sport#` (MQTT-4.7.1-1).
    case multiLevelWildcardNotAlone(String, offset: Int)
    /// A filter has `+` sharing a level with other characters, as in `sport+` (MQTT-4.7.1-2).
    case singleLevelWildcardNotAlone(String, offset: Int)
    /// A `$share/` filter whose share name is empty or contains `+` or `#` (MQTT-4.8.2-1, -2).
    case invalidShareName(String)
    /// A `$share/{name}` filter with no topic filter after the share name (MQTT-4.8.2-2).
    case missingSharedFilter(String)
    /// A `$share/` filter where shared subscriptions are not allowed.
    case sharedSubscriptionNotAllowed(String)

    public var description: String {
        switch self {
        case .empty(let subject):
            "\(subject.rawValue) is empty; it must be at least one character long"
        case .tooLong(let subject, let topic, let length, let maxLength):
            "\(subject.rawValue) \(Self.quoted(topic)) is \(length) bytes long; the limit is \(maxLength)"
        case .tooManyLevels(let subject, let topic, let levels, let maxLevels):
            "\(subject.rawValue) \(Self.quoted(topic)) has \(levels) levels; the limit is \(maxLevels)"
        case .nullCharacter(let subject, let topic, let offset):
            "\(subject.rawValue) \(Self.quoted(topic.replacingNullCharacters)) contains U+0000 (the null "
                + "character, shown as \\0) at byte \(offset); MQTT forbids it in topics (MQTT-4.7.3-2)"
        case .wildcardInTopicName(let topic, let offset):
            "topic name \(Self.quoted(topic)) contains a wildcard at byte \(offset); "
                + "wildcards are only allowed in topic filters"
        case .multiLevelWildcardNotLast(let filter, let offset):
            "topic filter \(Self.quoted(filter)) has '#' at byte \(offset) before its last level; "
                + "'#' must be the last level"
        case .multiLevelWildcardNotAlone(let filter, let offset):
            "topic filter \(Self.quoted(filter)) has '#' at byte \(offset) next to other characters; "
                + "'#' must be alone in its level"
        case .singleLevelWildcardNotAlone(let filter, let offset):
            "topic filter \(Self.quoted(filter)) has '+' at byte \(offset) next to other characters; "
                + "'+' must be alone in its level"
        case .invalidShareName(let filter):
            "shared subscription \(Self.quoted(filter)) has an empty share name or one containing '+' or '#'"
        case .missingSharedFilter(let filter):
            "shared subscription \(Self.quoted(filter)) has no topic filter after the share name; "
                + "use '$share/{name}/{filter}'"
        case .sharedSubscriptionNotAllowed(let filter):
            "shared subscription \(Self.quoted(filter)) is not allowed here"
        }
    }

    /// The MQTT 5.0 reason code to send back for this error.
    public var reasonCode: ReasonCode {
        switch self {
        case .empty(.topicName), .tooLong(.topicName, _, _, _), .tooManyLevels(.topicName, _, _, _),
            .nullCharacter(.topicName, _, _), .wildcardInTopicName:
            .topicNameInvalid
        case .sharedSubscriptionNotAllowed:
            .sharedSubscriptionsNotSupported
        default:
            .topicFilterInvalid
        }
    }

    /// Quotes a topic for a message, cut to 80 characters: topics may be 64 KiB long and end up in logs.
    private static func quoted(_ topic: String) -> String {
        let limit = 80
        if topic.count <= limit { return "'\(topic)'" }
        return "'\(topic.prefix(limit))…' (\(topic.utf8.count) bytes)"
    }
}

extension String {
    /// The string with each U+0000 written as `\0`, so that a message quoting it stays one
    /// printable line.
    fileprivate var replacingNullCharacters: String {
        guard utf8.contains(0) else { return self }
        return String(decoding: utf8.flatMap { $0 == 0 ? Array(#"\0"#.utf8) : [$0] }, as: UTF8.self)
    }
}
