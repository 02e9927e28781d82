/// A trie of topic levels with one optional value per node, shared by ``SubscriptionIndex`` and
/// ``RetainedIndex``.
///
/// Nodes live in one array and refer to each other by index, so the trie is a value type with
/// copy-on-write for free and no reference counting on the walk. Children are found through one
/// open-addressing hash table keyed by (parent, level bytes), which lets a lookup hash the bytes
/// of a topic level in place: no `String` is created per level. The table hashes with the
/// standard library's seeded `Hasher`, because levels come from clients and a fixed hash
/// would let one client flood a bucket. Children of a node are also linked in a doubly linked
/// sibling list so wildcard walks can enumerate them, and `+` and `#` children are cached.
///
/// - Complexity: lookup of one child is O(level length) expected; inserting and removing nodes
///   is O(level length) amortised (the table doubles when half full; deletion shifts back,
///   Knuth TAOCP vol. 3 §6.4 Algorithm R, so there are no tombstones).
struct LevelTrie<Value> {
    /// "No node".
    static var none: Int { -1 }
    /// The parent of a node on the free list.
    private static var freed: Int { -2 }
    /// The root: the node above the first level; it has no level and holds no value.
    static var root: Int { 0 }

    struct Node {
        /// The parent node; -1 for the root, -2 for a node on the free list.
        var parent: Int
        var level: [UInt8]
        var hash: Int
        var firstChild = LevelTrie.none
        var nextSibling = LevelTrie.none
        var previousSibling = LevelTrie.none
        /// The child whose level is `+`, cached for subscription lookups.
        var plusChild = LevelTrie.none
        /// The child whose level is `#`, cached for subscription lookups.
        var hashChild = LevelTrie.none
        var value: Value?
    }

    private(set) var nodes: [Node]
    private var freeNodes: [Int] = []
    /// Node indices by hash, linear probing; -1 is an empty slot. The count is a power of two.
    private var slots: [Int]
    /// Nodes other than the root.
    private(set) var nodeCount = 0

    init() {
        nodes = [Node(parent: -1, level: [], hash: 0)]
        slots = Array(repeating: Self.none, count: 16)
    }

    var isEmpty: Bool { nodeCount == 0 && nodes[Self.root].value == nil }

    // MARK: - Reading

    /// The child of `parent` whose level is `level`, or -1.
    func child(of parent: Int, level: UnsafeBufferPointer<UInt8>) -> Int {
        let hash = Self.hash(parent: parent, level: level)
        let mask = slots.count - 1
        var slot = hash & mask
        while true {
            let candidate = slots[slot]
            if candidate == Self.none { return Self.none }
            if nodes[candidate].hash == hash && nodes[candidate].parent == parent
                && Self.equal(nodes[candidate].level, level)
            {
                return candidate
            }
            slot = (slot + 1) & mask
        }
    }

    /// Whether the level of `node` starts with `$` (used for the MQTT-4.7.2-1 rule at the first level).
    func levelStartsWithDollar(_ node: Int) -> Bool { nodes[node].level.first == Bytes.dollar }

    /// The node for a whole topic or filter, or -1 when it is not in the trie.
    func node(for topic: UnsafeBufferPointer<UInt8>) -> Int {
        var node = Self.root
        var start = 0
        while true {
            let end = TopicFilter.levelEnd(topic, from: start)
            node = child(of: node, level: UnsafeBufferPointer(rebasing: topic[start..<end]))
            if node == Self.none || end == topic.count { return node }
            start = end + 1
        }
    }

    // MARK: - Writing

    /// The node for a whole topic or filter, created with its missing ancestors if needed.
    mutating func findOrCreateNode(for topic: UnsafeBufferPointer<UInt8>) -> Int {
        var node = Self.root
        var start = 0
        while true {
            let end = TopicFilter.levelEnd(topic, from: start)
            node = findOrCreateChild(of: node, level: UnsafeBufferPointer(rebasing: topic[start..<end]))
            if end == topic.count { return node }
            start = end + 1
        }
    }

    /// Gives in-place access to a node's value.
    subscript(value node: Int) -> Value? {
        get { nodes[node].value }
        _modify { yield &nodes[node].value }
        set { nodes[node].value = newValue }
    }

    /// Removes `node` if it holds no value and has no children, then its parents while the same
    /// holds. Never removes the root; ignores nodes already removed.
    mutating func prune(from node: Int) {
        var node = node
        guard nodes.indices.contains(node), nodes[node].parent != Self.freed else { return }
        while node != Self.root && nodes[node].value == nil && nodes[node].firstChild == Self.none {
            let parent = nodes[node].parent
            removeLeaf(node)
            node = parent
        }
    }

    /// Removes every node and value.
    mutating func removeAll() { self = LevelTrie() }

    private mutating func findOrCreateChild(of parent: Int, level: UnsafeBufferPointer<UInt8>) -> Int {
        let existing = child(of: parent, level: level)
        if existing != Self.none { return existing }
        if (nodeCount + 1) * 2 > slots.count { grow() }

        let hash = Self.hash(parent: parent, level: level)
        var node = Node(parent: parent, level: Array(level), hash: hash)
        node.nextSibling = nodes[parent].firstChild
        let index: Int
        if let free = freeNodes.popLast() {
            index = free
            nodes[index] = node
        } else {
            index = nodes.count
            nodes.append(node)
        }
        if node.nextSibling != Self.none { nodes[node.nextSibling].previousSibling = index }
        nodes[parent].firstChild = index
        if level.count == 1 && level[0] == Bytes.plus { nodes[parent].plusChild = index }
        if level.count == 1 && level[0] == Bytes.hash { nodes[parent].hashChild = index }
        insertSlot(index, hash: hash)
        nodeCount += 1
        return index
    }

    private mutating func removeLeaf(_ node: Int) {
        let removed = nodes[node]
        let parent = removed.parent
        if removed.previousSibling != Self.none {
            nodes[removed.previousSibling].nextSibling = removed.nextSibling
        } else {
            nodes[parent].firstChild = removed.nextSibling
        }
        if removed.nextSibling != Self.none {
            nodes[removed.nextSibling].previousSibling = removed.previousSibling
        }
        if nodes[parent].plusChild == node { nodes[parent].plusChild = Self.none }
        if nodes[parent].hashChild == node { nodes[parent].hashChild = Self.none }
        removeSlot(of: node)
        nodes[node] = Node(parent: Self.freed, level: [], hash: 0)
        freeNodes.append(node)
        nodeCount -= 1
        if nodeCount == 0 {
            // Give memory back after a mass unsubscribe instead of keeping the high-water mark.
            nodes.removeSubrange(1...)
            freeNodes.removeAll()
            slots = Array(repeating: Self.none, count: 16)
        }
    }

    // MARK: - Hash table

    private mutating func insertSlot(_ node: Int, hash: Int) {
        let mask = slots.count - 1
        var slot = hash & mask
        while slots[slot] != Self.none { slot = (slot + 1) & mask }
        slots[slot] = node
    }

    private mutating func removeSlot(of node: Int) {
        let mask = slots.count - 1
        var hole = nodes[node].hash & mask
        while slots[hole] != node { hole = (hole + 1) & mask }
        // Shift later entries of the probe run back into the hole unless they sit at or after
        // their home slot already (cyclically between the hole and themselves).
        var next = hole
        while true {
            next = (next + 1) & mask
            let moving = slots[next]
            if moving == Self.none { break }
            let home = nodes[moving].hash & mask
            let staysPut = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if staysPut { continue }
            slots[hole] = moving
            hole = next
        }
        slots[hole] = Self.none
    }

    private mutating func grow() {
        slots = Array(repeating: Self.none, count: slots.count * 2)
        for index in 1..<nodes.count where nodes[index].parent != Self.freed {
            insertSlot(index, hash: nodes[index].hash)
        }
    }

    private static func hash(parent: Int, level: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(parent)
        hasher.combine(bytes: UnsafeRawBufferPointer(level))
        return hasher.finalize()
    }

    private static func equal(_ stored: [UInt8], _ level: UnsafeBufferPointer<UInt8>) -> Bool {
        guard stored.count == level.count else { return false }
        return stored.withUnsafeBufferPointer { s in
            TopicFilter.levelsEqual(s, 0..<s.count, level, 0..<level.count)
        }
    }
}

extension LevelTrie: Sendable where Value: Sendable {}
extension LevelTrie.Node: Sendable where Value: Sendable {}
