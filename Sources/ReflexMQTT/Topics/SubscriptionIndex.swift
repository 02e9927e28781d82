/// The broker's subscriptions, indexed for routing: which subscribers want a PUBLISH to a topic.
///
/// A trie keyed by topic levels, with `+` and `#` as children of their parent level. Routing a
/// topic walks it once, following the literal level, the `+` child and the `#` child at each
/// level, so the cost depends on the topic's depth and on how many wildcard filters overlap it,
/// not on the number of subscriptions. Matching follows MQTT 5.0 §4.7 exactly (see
/// ``TopicFilter/matches(filter:topic:)``).
///
/// Shared subscriptions (`$share/{name}/{filter}`, MQTT 5.0 §4.8.2) are kept apart: each share
/// group, identified by its name and filter, gets one copy of a matching message, delivered to
/// one member chosen round-robin by ``forEachSharedMatch(topic:isAvailable:_:)``.
///
/// One subscriber has at most one subscription per filter as sent: subscribing again to the
/// same filter (and share name) replaces the options (MQTT-3.8.4-3).
///
/// - Complexity: ``forEachMatch(topic:_:)`` is O(L · W + S) where L is the number of levels of
///   the topic, W the number of wildcard branches taken and S the number of matching
///   subscriptions; insert and remove are O(filter length) expected, plus O(g) for a share
///   group of g members.
public struct SubscriptionIndex<Subscriber: Hashable & Sendable, Options: Sendable>: Sendable {
    private var trie = LevelTrie<Subscriptions>()
    private var plainCount = 0
    private var sharedCount = 0

    /// Creates an empty index.
    public init() {}

    /// The number of subscriptions, shared ones counted per member.
    public var count: Int { plainCount + sharedCount }

    /// Whether there are no subscriptions.
    public var isEmpty: Bool { count == 0 }

    /// The number of trie nodes besides the root, for tests that check pruning.
    package var trieNodeCount: Int { trie.nodeCount }

    // MARK: - Changing subscriptions

    /// Adds a subscription, or replaces the options of the subscriber's subscription to the
    /// same filter (and share name).
    /// - Returns: `true` if an existing subscription was replaced.
    /// - Complexity: O(filter length) expected; O(g) more for a share group of g members.
    @discardableResult
    public mutating func insert(_ filter: TopicFilter, subscriber: Subscriber, options: Options) -> Bool {
        var text = filter.filter
        let node = text.withUTF8 { trie.findOrCreateNode(for: $0) }
        var subscriptions = trie[value: node] ?? Subscriptions()
        trie[value: node] = nil  // keeps the value uniquely referenced while it changes
        let replaced: Bool
        if let group = filter.shareGroup {
            replaced = subscriptions.insertShared(group: group, subscriber: subscriber, options: options)
            if !replaced { sharedCount += 1 }
        } else {
            replaced = subscriptions.plain.updateValue(options, forKey: subscriber) != nil
            if !replaced { plainCount += 1 }
        }
        trie[value: node] = subscriptions
        return replaced
    }

    /// Removes the subscriber's subscription to a filter (with its share name, if any), and
    /// the trie nodes nothing needs any more.
    /// - Returns: `true` if the subscription existed.
    /// - Complexity: O(filter length) expected; O(g) more for a share group of g members.
    @discardableResult
    public mutating func remove(_ filter: TopicFilter, subscriber: Subscriber) -> Bool {
        var text = filter.filter
        let node = text.withUTF8 { trie.node(for: $0) }
        guard node != Self.none, var subscriptions = trie[value: node] else { return false }
        trie[value: node] = nil
        let removed: Bool
        if let group = filter.shareGroup {
            removed = subscriptions.removeShared(group: group, subscriber: subscriber)
            if removed { sharedCount -= 1 }
        } else {
            removed = subscriptions.plain.removeValue(forKey: subscriber) != nil
            if removed { plainCount -= 1 }
        }
        if subscriptions.isEmpty {
            trie.prune(from: node)
        } else {
            trie[value: node] = subscriptions
        }
        return removed
    }

    // MARK: - Routing

    /// Calls `body` for every non-shared subscription whose filter matches `topic`.
    ///
    /// A subscriber whose filters overlap (`a/+` and `a/#`) is reported once per matching
    /// filter, with that filter's options; merging them (MQTT 5.0 §4.7.2 lets the server
    /// deliver once with the highest QoS) is the caller's decision. The order is unspecified.
    /// `body` must not access the index.
    /// - Parameters:
    ///   - topic: A valid topic name.
    ///   - body: Called with each matching subscriber and its options.
    /// - Complexity: O(L · W + S); see the type's documentation.
    public func forEachMatch(topic: String, _ body: (Subscriber, Options) -> Void) {
        guard plainCount > 0 else { return }
        var topic = topic
        topic.withUTF8 { bytes in
            walk(node: Self.root, topic: bytes, start: 0, skipsWildcards: bytes.first == Bytes.dollar, body)
        }
    }

    /// Delivers `topic` to one member of every share group whose filter matches it.
    ///
    /// Members of a group take turns in the order they joined. The turn goes to the next member
    /// for which `isAvailable` returns true (a connected client); when none is, it goes to the
    /// next member anyway, whose session queues the message. Each group keeps its own cursor,
    /// so two groups with the same filter each deliver one copy. `body` must not access the index.
    /// - Parameters:
    ///   - topic: A valid topic name.
    ///   - isAvailable: Whether a member can take a message now.
    ///   - body: Called once per matching group with the chosen member and its options.
    /// - Complexity: O(L · W) for the walk plus O(g) per matching group of g members.
    public mutating func forEachSharedMatch(
        topic: String,
        isAvailable: (Subscriber) -> Bool,
        _ body: (Subscriber, Options) -> Void
    ) {
        guard sharedCount > 0 else { return }
        var topic = topic
        topic.withUTF8 { bytes in
            walkShared(
                node: Self.root,
                topic: bytes,
                start: 0,
                skipsWildcards: bytes.first == Bytes.dollar,
                isAvailable,
                body
            )
        }
    }

    /// Calls `body` once for every subscription, with its filter as the client sent it. For
    /// persistence and diagnostics; the order is unspecified.
    /// - Complexity: O(number of subscriptions + trie nodes).
    public func forEach(_ body: (TopicFilter, Subscriber, Options) -> Void) {
        for index in trie.nodes.indices {
            guard let subscriptions = trie.nodes[index].value else { continue }
            let filterText = filterString(of: index)
            let hasWildcards = filterText.utf8.contains { $0 == Bytes.plus || $0 == Bytes.hash }
            if !subscriptions.plain.isEmpty {
                let filter = TopicFilter(
                    filter: filterText,
                    shareGroup: nil,
                    original: filterText,
                    hasWildcards: hasWildcards
                )
                for (subscriber, options) in subscriptions.plain { body(filter, subscriber, options) }
            }
            for group in subscriptions.groups {
                let filter = TopicFilter(
                    filter: filterText,
                    shareGroup: group.name,
                    original: TopicRules.sharePrefix + group.name + "/" + filterText,
                    hasWildcards: hasWildcards
                )
                for member in group.members { body(filter, member.subscriber, member.options) }
            }
        }
    }

    // MARK: - Walking

    // The two walks below are the same recursion: at each node, the `#` child matches the rest
    // of the topic, also nothing of it (`a/#` matches `a`, MQTT 5.0 §4.7.1.2); when the topic is
    // used up the node itself matches; otherwise the literal child and the `+` child consume one
    // level. At the first level of a `$` topic the wildcard children are skipped (MQTT-4.7.2-1).
    // `start` is the first byte of the next topic level, or `topic.count + 1` when none is left.
    // They are written out twice because routing to shared groups moves cursors (mutating).

    private static var root: Int { LevelTrie<Subscriptions>.root }
    private static var none: Int { LevelTrie<Subscriptions>.none }

    private func walk(
        node: Int,
        topic: UnsafeBufferPointer<UInt8>,
        start: Int,
        skipsWildcards: Bool,
        _ body: (Subscriber, Options) -> Void
    ) {
        let hashChild = trie.nodes[node].hashChild
        if hashChild != Self.none && !skipsWildcards {
            trie.nodes[hashChild].value?.forEachPlain(body)
        }
        guard start <= topic.count else {
            trie.nodes[node].value?.forEachPlain(body)
            return
        }
        let end = TopicFilter.levelEnd(topic, from: start)
        let literal = trie.child(of: node, level: UnsafeBufferPointer(rebasing: topic[start..<end]))
        if literal != Self.none {
            walk(node: literal, topic: topic, start: end + 1, skipsWildcards: false, body)
        }
        let plusChild = trie.nodes[node].plusChild
        if plusChild != Self.none && !skipsWildcards {
            walk(node: plusChild, topic: topic, start: end + 1, skipsWildcards: false, body)
        }
    }

    private mutating func walkShared(
        node: Int,
        topic: UnsafeBufferPointer<UInt8>,
        start: Int,
        skipsWildcards: Bool,
        _ isAvailable: (Subscriber) -> Bool,
        _ body: (Subscriber, Options) -> Void
    ) {
        let hashChild = trie.nodes[node].hashChild
        if hashChild != Self.none && !skipsWildcards {
            trie[value: hashChild]?.deliverShared(isAvailable, body)
        }
        guard start <= topic.count else {
            trie[value: node]?.deliverShared(isAvailable, body)
            return
        }
        let end = TopicFilter.levelEnd(topic, from: start)
        let literal = trie.child(of: node, level: UnsafeBufferPointer(rebasing: topic[start..<end]))
        if literal != Self.none {
            walkShared(node: literal, topic: topic, start: end + 1, skipsWildcards: false, isAvailable, body)
        }
        let plusChild = trie.nodes[node].plusChild
        if plusChild != Self.none && !skipsWildcards {
            walkShared(node: plusChild, topic: topic, start: end + 1, skipsWildcards: false, isAvailable, body)
        }
    }

    /// Rebuilds the filter of a node from its levels (not on the routing path).
    private func filterString(of node: Int) -> String {
        var levels: [[UInt8]] = []
        var node = node
        while node != Self.root {
            levels.append(trie.nodes[node].level)
            node = trie.nodes[node].parent
        }
        return String(decoding: Array(levels.reversed().joined(separator: [Bytes.slash])), as: UTF8.self)
    }
}
