/// The retained messages of the broker: at most one per topic name (MQTT 5.0 §3.3.1.3), found
/// by topic filter when a client subscribes.
///
/// A trie keyed by topic levels, like ``SubscriptionIndex`` but the other way round: the trie
/// holds topic names and a filter is walked through it. A literal filter level follows one
/// child; `+` visits every child, `#` the whole subtree, so a subscription to `plant/7/#`
/// touches only the messages under `plant/7`. A filter starting with `+` or `#` does not see
/// topics starting with `$` (MQTT-4.7.2-1).
///
/// Which messages to actually send is the caller's decision: retained messages are not sent
/// for shared subscriptions (MQTT 5.0 §4.8.2), and retain handling options apply.
///
/// - Complexity: `set`, `remove` and `message(for:)` are O(topic length) expected;
///   ``forEachMatch(filter:_:)`` is O(visited nodes), for a filter without wildcards
///   O(filter length).
public struct RetainedIndex<Message: Sendable>: Sendable {
    struct Entry: Sendable {
        let topic: String
        var message: Message
    }

    private var trie = LevelTrie<Entry>()

    /// Creates an empty index.
    public init() {}

    /// The number of retained messages.
    public private(set) var count = 0

    /// Whether there are no retained messages.
    public var isEmpty: Bool { count == 0 }

    /// The number of trie nodes besides the root, for tests that check pruning.
    package var trieNodeCount: Int { trie.nodeCount }

    /// Retains `message` for `topic`, replacing the message retained there before.
    /// - Parameters:
    ///   - topic: A valid topic name.
    ///   - message: The message to send to future subscribers.
    /// - Complexity: O(topic length) expected.
    public mutating func set(topic: String, message: Message) {
        var text = topic
        let node = text.withUTF8 { trie.findOrCreateNode(for: $0) }
        if trie[value: node] == nil { count += 1 }
        trie[value: node] = Entry(topic: topic, message: message)
    }

    /// Removes the message retained for `topic` (a retained PUBLISH with an empty payload).
    /// - Returns: The message that was retained, or nil.
    /// - Complexity: O(topic length) expected.
    @discardableResult
    public mutating func remove(topic: String) -> Message? {
        var text = topic
        let node = text.withUTF8 { trie.node(for: $0) }
        guard node != LevelTrie<Entry>.none, let entry = trie[value: node] else { return nil }
        trie[value: node] = nil
        trie.prune(from: node)
        count -= 1
        return entry.message
    }

    /// The message retained for exactly `topic`, or nil.
    /// - Complexity: O(topic length) expected.
    public func message(for topic: String) -> Message? {
        var text = topic
        let node = text.withUTF8 { trie.node(for: $0) }
        guard node != LevelTrie<Entry>.none else { return nil }
        return trie.nodes[node].value?.message
    }

    /// Calls `body` with every retained message whose topic matches `filter`, in unspecified
    /// order. The share name of a shared filter is ignored; `body` must not access the index.
    /// - Complexity: O(visited nodes); see the type's documentation.
    public func forEachMatch(filter: TopicFilter, _ body: (String, Message) -> Void) {
        guard count > 0 else { return }
        var text = filter.filter
        text.withUTF8 { bytes in
            walk(node: LevelTrie<Entry>.root, filter: bytes, start: 0, body)
        }
    }

    /// Removes every retained message for which `shouldBeRemoved` returns true, as an expiry
    /// sweep does.
    /// - Complexity: O(trie nodes).
    public mutating func removeAll(where shouldBeRemoved: (String, Message) -> Bool) {
        var doomed: [Int] = []
        for index in trie.nodes.indices {
            if let entry = trie.nodes[index].value, shouldBeRemoved(entry.topic, entry.message) {
                doomed.append(index)
            }
        }
        // Clear every value first, then prune; pruning one node may already have removed another
        // doomed node (an empty parent), which `prune` then ignores.
        for index in doomed { trie[value: index] = nil }
        for index in doomed { trie.prune(from: index) }
        count -= doomed.count
    }

    /// Calls `body` with every retained message, in unspecified order, for persistence.
    /// - Complexity: O(trie nodes).
    public func forEach(_ body: (String, Message) -> Void) {
        for node in trie.nodes {
            if let entry = node.value { body(entry.topic, entry.message) }
        }
    }

    // MARK: - Walking

    /// Visits the messages under `node` that match the filter from byte `start` on.
    private func walk(
        node: Int,
        filter: UnsafeBufferPointer<UInt8>,
        start: Int,
        _ body: (String, Message) -> Void
    ) {
        let end = TopicFilter.levelEnd(filter, from: start)
        let isLast = end == filter.count
        let level = UnsafeBufferPointer(rebasing: filter[start..<end])
        // At the first level, wildcards do not match `$` topics (MQTT-4.7.2-1).
        let isFirstLevel = node == LevelTrie<Entry>.root
        if level.count == 1 && level[0] == Bytes.hash {
            // `#` matches the parent level too: `a/#` matches `a` (MQTT 5.0 §4.7.1.2).
            if let entry = trie.nodes[node].value { body(entry.topic, entry.message) }
            var child = trie.nodes[node].firstChild
            while child != LevelTrie<Entry>.none {
                if !(isFirstLevel && trie.levelStartsWithDollar(child)) { visitSubtree(child, body) }
                child = trie.nodes[child].nextSibling
            }
        } else if level.count == 1 && level[0] == Bytes.plus {
            var child = trie.nodes[node].firstChild
            while child != LevelTrie<Entry>.none {
                if !(isFirstLevel && trie.levelStartsWithDollar(child)) {
                    visitMatched(child, filter: filter, isLast: isLast, end: end, body)
                }
                child = trie.nodes[child].nextSibling
            }
        } else {
            let child = trie.child(of: node, level: level)
            if child != LevelTrie<Entry>.none {
                visitMatched(child, filter: filter, isLast: isLast, end: end, body)
            }
        }
    }

    /// `child` matched the filter level ending at `end`: report it or go on with the next level.
    private func visitMatched(
        _ child: Int,
        filter: UnsafeBufferPointer<UInt8>,
        isLast: Bool,
        end: Int,
        _ body: (String, Message) -> Void
    ) {
        if isLast {
            if let entry = trie.nodes[child].value { body(entry.topic, entry.message) }
        } else {
            walk(node: child, filter: filter, start: end + 1, body)
        }
    }

    private func visitSubtree(_ node: Int, _ body: (String, Message) -> Void) {
        if let entry = trie.nodes[node].value { body(entry.topic, entry.message) }
        var child = trie.nodes[node].firstChild
        while child != LevelTrie<Entry>.none {
            visitSubtree(child, body)
            child = trie.nodes[child].nextSibling
        }
    }
}
