/// How many retained messages, and how many bytes of them, each client may keep in the broker,
/// and how many bytes all of them together; with the usage that decides it.
///
/// "Client" is the identity that published the retained message (its principal; every anonymous
/// client shares the one anonymous identity, so they share one quota). A message's size is its
/// topic's UTF-8 bytes plus its payload bytes. Replacing a retained message frees the old one's
/// share first (its own owner's, if another identity published it). Deleting (an empty retained
/// payload) always works and frees the share. Messages the broker makes itself (`$SYS`,
/// in-process publishes) and messages restored without a recorded owner count only toward the
/// node-wide total, and are never refused.
///
/// Pure value type, confined with the rest of the broker state to the broker's event loop.
/// - Complexity: every operation is O(1) expected.
struct RetainedQuota: Sendable {
    /// The limits; `Int.max` turns one off.
    struct Limits: Sendable, Equatable {
        /// Retained messages one identity may keep (default 1,000).
        var maxMessagesPerClient: Int = 1_000
        /// Bytes of retained messages one identity may keep (default 16 MiB).
        var maxBytesPerClient: Int = 16 * 1_048_576
        /// Bytes of retained messages the whole node keeps (default 1 GiB).
        var maxBytes: Int = 1_073_741_824
    }

    /// What one owner (or the node) keeps.
    struct Usage: Sendable, Equatable {
        var messages = 0
        var bytes = 0
    }

    /// Why a retained message was refused.
    enum Exceeded: Error, Equatable, CustomStringConvertible {
        case messagesPerClient(limit: Int)
        case bytesPerClient(limit: Int)
        case nodeBytes(limit: Int)

        var description: String {
            switch self {
            case .messagesPerClient(let limit): "retained message quota of \(limit) messages per client exceeded"
            case .bytesPerClient(let limit): "retained message quota of \(limit) bytes per client exceeded"
            case .nodeBytes(let limit): "the node's retained message quota of \(limit) bytes is exceeded"
            }
        }

        /// A bounded label for counters.
        var label: String {
            switch self {
            case .messagesPerClient: "messages_per_client"
            case .bytesPerClient: "bytes_per_client"
            case .nodeBytes: "node_bytes"
            }
        }
    }

    /// A retained message as the quota sees it: who published it and its size.
    struct Entry: Sendable, Equatable {
        /// The publisher's identity; nil for broker-made and ownerless restored messages.
        var owner: ClientIdentity?
        var bytes: Int
    }

    var limits: Limits
    private(set) var perOwner: [Key: Usage] = [:]
    private(set) var total = Usage()

    init(limits: Limits) {
        self.limits = limits
    }

    /// Owners are compared by principal, like sessions (``SessionOwnership``).
    struct Key: Hashable, Sendable {
        var principal: String?
        init(_ identity: ClientIdentity) { principal = identity.principal }
    }

    /// The usage of one identity.
    func usage(of identity: ClientIdentity) -> Usage { perOwner[Key(identity), default: Usage()] }

    /// The size a retained message counts for.
    static func size(topic: String, payloadBytes: Int) -> Int { topic.utf8.count + payloadBytes }

    /// Whether `entry` may replace `previous` (the message retained on that topic now, if any).
    /// An entry without owner is always allowed.
    /// - Throws: ``Exceeded`` naming the first limit it would pass.
    func check(_ entry: Entry, replacing previous: Entry?) throws(Exceeded) {
        guard let owner = entry.owner else { return }
        let key = Key(owner)
        var mine = perOwner[key, default: Usage()]
        var node = total
        if let previous {
            node.messages -= 1
            node.bytes -= previous.bytes
            if let previousOwner = previous.owner, Key(previousOwner) == key {
                mine.messages -= 1
                mine.bytes -= previous.bytes
            }
        }
        if mine.messages + 1 > limits.maxMessagesPerClient {
            throw .messagesPerClient(limit: limits.maxMessagesPerClient)
        }
        if mine.bytes + entry.bytes > limits.maxBytesPerClient {
            throw .bytesPerClient(limit: limits.maxBytesPerClient)
        }
        if node.bytes + entry.bytes > limits.maxBytes { throw .nodeBytes(limit: limits.maxBytes) }
    }

    /// Records that `entry` is now retained, in place of `previous` if there was one.
    mutating func recordSet(_ entry: Entry, replacing previous: Entry?) {
        if let previous { recordRemoved(previous) }
        total.messages += 1
        total.bytes += entry.bytes
        if let owner = entry.owner {
            perOwner[Key(owner), default: Usage()].messages += 1
            perOwner[Key(owner), default: Usage()].bytes += entry.bytes
        }
    }

    /// Records that `entry` is no longer retained.
    mutating func recordRemoved(_ entry: Entry) {
        total.messages -= 1
        total.bytes -= entry.bytes
        guard let owner = entry.owner else { return }
        let key = Key(owner)
        guard var usage = perOwner[key] else { return }
        usage.messages -= 1
        usage.bytes -= entry.bytes
        perOwner[key] = usage.messages <= 0 ? nil : usage
    }
}
