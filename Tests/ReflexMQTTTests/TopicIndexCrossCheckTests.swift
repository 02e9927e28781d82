import ReflexCore
import ReflexMQTT
import Testing

/// Compares both indexes with ``TopicFilter/matches(filter:topic:)`` on random filters and topics
/// drawn from a small alphabet of levels, so that overlaps, empty levels and `$` topics are common.
@Suite struct TopicIndexCrossCheckTests {
    static let levels = ["a", "b", "", "$SYS", "a-long-level-name-over-15-bytes"]

    static func randomTopic(_ random: inout SplitMix64) -> String {
        let count = Int.random(in: 1...4, using: &random)
        let topic = (0..<count).map { _ in levels.randomElement(using: &random) ?? "a" }.joined(separator: "/")
        return topic.isEmpty ? "/" : topic  // a single empty level is the empty string, which is invalid
    }

    static func randomFilter(_ random: inout SplitMix64) -> String {
        let count = Int.random(in: 1...4, using: &random)
        var parts = (0..<count).map { _ -> String in
            Int.random(in: 0..<3, using: &random) == 0 ? "+" : levels.randomElement(using: &random) ?? "a"
        }
        if Int.random(in: 0..<3, using: &random) == 0 { parts[count - 1] = "#" }
        let filter = parts.joined(separator: "/")
        return filter.isEmpty ? "/" : filter
    }

    @Test("SubscriptionIndex routes like the reference matcher", arguments: [1, 2, 3] as [UInt64])
    func subscriptionIndex(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var index = SubscriptionIndex<Int, String>()
        var live: [Int: TopicFilter] = [:]
        for round in 0..<20 {
            // Churn: add filters, then remove some, so pruning and slot reuse are exercised.
            for _ in 0..<30 {
                let subscriber = Int.random(in: 0..<200, using: &random)
                let filter = try TopicRules.parseFilter(Self.randomFilter(&random))
                if let old = live[subscriber] { index.remove(old, subscriber: subscriber) }
                index.insert(filter, subscriber: subscriber, options: filter.filter)
                live[subscriber] = filter
            }
            for _ in 0..<10 {
                let subscriber = Int.random(in: 0..<200, using: &random)
                if let old = live.removeValue(forKey: subscriber) {
                    #expect(index.remove(old, subscriber: subscriber) == true)
                }
            }
            #expect(index.count == live.count, "round \(round)")
            for _ in 0..<50 {
                let topic = Self.randomTopic(&random)
                var found: [Int] = []
                index.forEachMatch(topic: topic) { subscriber, options in
                    found.append(subscriber)
                    #expect(options == live[subscriber]?.filter)
                }
                let expected = live.filter { $0.value.matches(topic) }.map(\.key)
                #expect(found.sorted() == expected.sorted(), "topic '\(topic)'")
            }
        }
    }

    @Test("shared groups deliver exactly one copy per matching group", arguments: [4, 5] as [UInt64])
    func sharedGroups(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var index = SubscriptionIndex<Int, Int>()
        var groups: [String: TopicFilter] = [:]  // original -> filter
        for member in 0..<120 {
            let group = "g\(Int.random(in: 0..<3, using: &random))"
            let filter = try TopicRules.parseFilter("$share/\(group)/\(Self.randomFilter(&random))")
            index.insert(filter, subscriber: member, options: member)
            groups[filter.original] = filter
        }
        for _ in 0..<500 {
            let topic = Self.randomTopic(&random)
            var deliveries = 0
            let isAvailable = { (member: Int) in member % 2 == 0 }
            index.forEachSharedMatch(topic: topic, isAvailable: isAvailable) { _, _ in deliveries += 1 }
            #expect(deliveries == groups.values.filter { $0.matches(topic) }.count, "topic '\(topic)'")
        }
    }

    @Test("RetainedIndex finds messages like the reference matcher", arguments: [6, 7, 8] as [UInt64])
    func retainedIndex(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var index = RetainedIndex<Int>()
        var live: [String: Int] = [:]
        for round in 0..<20 {
            for _ in 0..<20 {
                let topic = Self.randomTopic(&random)
                let message = Int.random(in: 0..<1000, using: &random)
                index.set(topic: topic, message: message)
                live[topic] = message
            }
            for _ in 0..<10 {
                let topic = Self.randomTopic(&random)
                #expect(index.remove(topic: topic) == live.removeValue(forKey: topic))
            }
            if round % 5 == 4 {
                index.removeAll { _, message in message % 3 == 0 }
                live = live.filter { $0.value % 3 != 0 }
            }
            #expect(index.count == live.count, "round \(round)")
            for _ in 0..<50 {
                let filter = try TopicRules.parseFilter(Self.randomFilter(&random))
                var found: [String: Int] = [:]
                index.forEachMatch(filter: filter) { topic, message in
                    #expect(found.updateValue(message, forKey: topic) == nil, "reported twice: '\(topic)'")
                }
                #expect(found == live.filter { filter.matches($0.key) }, "filter '\(filter)'")
            }
        }
    }
}
