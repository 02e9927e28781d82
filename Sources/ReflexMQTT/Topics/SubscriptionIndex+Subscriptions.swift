extension SubscriptionIndex {
    /// The subscriptions of one trie node, that is of one filter.
    struct Subscriptions: Sendable {
        /// Non-shared subscriptions by subscriber.
        var plain: [Subscriber: Options] = [:]
        /// Share groups on this filter; there are rarely more than a few, so an array.
        var groups: [ShareGroup] = []

        var isEmpty: Bool { plain.isEmpty && groups.isEmpty }

        func forEachPlain(_ body: (Subscriber, Options) -> Void) {
            for (subscriber, options) in plain { body(subscriber, options) }
        }

        /// Adds or replaces a member; returns whether it replaced one.
        mutating func insertShared(group name: String, subscriber: Subscriber, options: Options) -> Bool {
            guard let index = groups.firstIndex(where: { $0.name == name }) else {
                groups.append(ShareGroup(name: name, members: [Member(subscriber: subscriber, options: options)]))
                return false
            }
            return groups[index].insert(subscriber, options: options)
        }

        /// Removes a member and the group when it empties; returns whether the member existed.
        mutating func removeShared(group name: String, subscriber: Subscriber) -> Bool {
            guard let index = groups.firstIndex(where: { $0.name == name }) else { return false }
            let removed = groups[index].remove(subscriber)
            if groups[index].members.isEmpty { groups.remove(at: index) }
            return removed
        }

        /// Gives the message to one member of each group.
        mutating func deliverShared(_ isAvailable: (Subscriber) -> Bool, _ body: (Subscriber, Options) -> Void) {
            for index in groups.indices {
                let member = groups[index].next(isAvailable)
                body(member.subscriber, member.options)
            }
        }
    }

    /// One share group: the members of `$share/{name}/{filter}` for one name and filter.
    struct ShareGroup: Sendable {
        let name: String
        /// In the order they joined; round-robin follows this order.
        var members: [Member]
        /// The member whose turn is next.
        var cursor = 0

        /// Adds or replaces a member (keeping its place); returns whether it replaced one.
        mutating func insert(_ subscriber: Subscriber, options: Options) -> Bool {
            if let index = members.firstIndex(where: { $0.subscriber == subscriber }) {
                members[index].options = options
                return true
            }
            members.append(Member(subscriber: subscriber, options: options))
            return false
        }

        /// Removes a member, keeping the turn with the member that had it (or the one after it).
        mutating func remove(_ subscriber: Subscriber) -> Bool {
            guard let index = members.firstIndex(where: { $0.subscriber == subscriber }) else { return false }
            members.remove(at: index)
            if index < cursor { cursor -= 1 }
            if cursor >= members.count { cursor = 0 }
            return true
        }

        /// The member whose turn it is, preferring available members, and advances the turn.
        /// - Precondition: `members` is not empty (empty groups are removed).
        mutating func next(_ isAvailable: (Subscriber) -> Bool) -> Member {
            let count = members.count
            var chosen = cursor
            for step in 0..<count {
                let candidate = (cursor + step) % count
                if isAvailable(members[candidate].subscriber) {
                    chosen = candidate
                    break
                }
            }
            cursor = (chosen + 1) % count
            return members[chosen]
        }
    }

    struct Member: Sendable {
        let subscriber: Subscriber
        var options: Options
    }
}
