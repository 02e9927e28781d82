import ReflexMQTT
import Testing

@Suite struct SubscriptionIndexTests {
    typealias Index = SubscriptionIndex<String, Int>

    func filter(_ text: String) throws -> TopicFilter { try TopicRules.parseFilter(text) }

    /// Non-shared matches as sorted "subscriber:options" strings.
    func matches(_ index: Index, _ topic: String) -> [String] {
        var found: [String] = []
        index.forEachMatch(topic: topic) { found.append("\($0):\($1)") }
        return found.sorted()
    }

    /// Shared deliveries for one message, in delivery order sorted by subscriber.
    func shared(_ index: inout Index, _ topic: String, available: Set<String>? = nil) -> [String] {
        var found: [String] = []
        let isAvailable = { (member: String) in available?.contains(member) ?? true }
        index.forEachSharedMatch(topic: topic, isAvailable: isAvailable) { found.append("\($0):\($1)") }
        return found.sorted()
    }

    @Test("an empty index matches nothing")
    func empty() {
        let index = Index()
        #expect(index.isEmpty)
        #expect(index.count == 0)
        #expect(matches(index, "a/b").isEmpty)
    }

    @Test("insert adds, replaces the options of the same filter, and counts subscriptions")
    func insertAndReplace() throws {
        var index = Index()
        #expect(index.insert(try filter("a/+"), subscriber: "c1", options: 0) == false)
        #expect(index.insert(try filter("a/+"), subscriber: "c2", options: 0) == false)
        #expect(index.insert(try filter("a/+"), subscriber: "c1", options: 2) == true)
        #expect(index.count == 2)
        #expect(!index.isEmpty)
        #expect(matches(index, "a/x") == ["c1:2", "c2:0"])
    }

    @Test("remove reports whether the subscription existed and prunes the trie")
    func removeAndPrune() throws {
        var index = Index()
        index.insert(try filter("a/b/c"), subscriber: "c1", options: 1)
        index.insert(try filter("a/#"), subscriber: "c1", options: 1)
        #expect(index.remove(try filter("a/b/c"), subscriber: "c2") == false)
        #expect(index.remove(try filter("a/b"), subscriber: "c1") == false)
        #expect(index.remove(try filter("x/y"), subscriber: "c1") == false)
        #expect(index.remove(try filter("a/b/c"), subscriber: "c1") == true)
        #expect(index.remove(try filter("a/b/c"), subscriber: "c1") == false)
        #expect(index.count == 1)
        #expect(index.trieNodeCount == 2)  // "a" and "#"; "b" and "c" are gone
        #expect(matches(index, "a/b/c") == ["c1:1"])
        #expect(index.remove(try filter("a/#"), subscriber: "c1") == true)
        #expect(index.isEmpty)
        #expect(index.trieNodeCount == 0)
        #expect(matches(index, "a/b/c").isEmpty)
        // Pruned nodes can be created again and still route.
        index.insert(try filter("a/b/c"), subscriber: "c3", options: 0)
        #expect(matches(index, "a/b/c") == ["c3:0"])
        #expect(matches(index, "a/b").isEmpty)
    }

    @Test("removing a child filter keeps the parent filter's subscriptions")
    func pruneStopsAtUsedNodes() throws {
        var index = Index()
        index.insert(try filter("a"), subscriber: "parent", options: 0)
        index.insert(try filter("a/b/c"), subscriber: "child", options: 0)
        index.insert(try filter("a/b/d"), subscriber: "sibling", options: 0)
        index.remove(try filter("a/b/c"), subscriber: "child")
        #expect(matches(index, "a") == ["parent:0"])
        #expect(matches(index, "a/b/d") == ["sibling:0"])
        #expect(matches(index, "a/b/c").isEmpty)
        #expect(index.trieNodeCount == 3)  // a, b and d; c is gone
    }

    @Test("a subscriber with overlapping filters is reported once per filter")
    func overlapping() throws {
        var index = Index()
        index.insert(try filter("a/+"), subscriber: "c1", options: 1)
        index.insert(try filter("a/#"), subscriber: "c1", options: 2)
        index.insert(try filter("a/b"), subscriber: "c1", options: 0)
        index.insert(try filter("#"), subscriber: "c2", options: 0)
        #expect(matches(index, "a/b") == ["c1:0", "c1:1", "c1:2", "c2:0"])
        #expect(matches(index, "a") == ["c1:2", "c2:0"])
        #expect(matches(index, "a/c/d") == ["c1:2", "c2:0"])
    }

    static let routingCases: [(String, [String])] = [
        ("sport", ["#", "+", "sport", "sport/#"]),
        ("sport/tennis", ["#", "+/+", "+/tennis", "sport/#", "sport/+", "sport/tennis"]),
        ("sport/", ["#", "+/+", "sport/#", "sport/+"]),
        ("/", ["#", "+/+", "/#"]),
        ("/tennis", ["#", "+/+", "+/tennis", "/#"]),
        ("a//b", ["#", "a//b", "a/+/b"]),
        ("$SYS", ["$SYS", "$SYS/#"]),
        ("$SYS/broker", ["$SYS/#", "$SYS/+"]),
        ("$SYS/", ["$SYS/#", "$SYS/+"]),
        ("x/$SYS", ["#", "+/+", "x/+"]),
    ]

    @Test("routing follows the spec for $ topics, empty levels and root wildcards", arguments: routingCases)
    func routing(topic: String, expected: [String]) throws {
        var index = Index()
        let filters = [
            "#", "+", "+/+", "+/tennis", "sport", "sport/#", "sport/+", "sport/tennis", "/#", "a//b",
            "a/+/b", "$SYS", "$SYS/#", "$SYS/+", "x/+",
        ]
        for (number, text) in filters.enumerated() {
            index.insert(try filter(text), subscriber: text, options: number)
        }
        var found: [String] = []
        index.forEachMatch(topic: topic) { subscriber, _ in found.append(subscriber) }
        #expect(found.sorted() == expected.sorted())
    }

    @Test("a shared group delivers each message to one member, round-robin across three members")
    func sharedRoundRobin() throws {
        var index = Index()
        for member in ["m1", "m2", "m3"] {
            index.insert(try filter("$share/workers/jobs/+"), subscriber: member, options: 1)
        }
        #expect(index.count == 3)
        #expect(matches(index, "jobs/1").isEmpty)  // shared subscriptions are not plain ones
        let deliveries = (0..<6).map { number in shared(&index, "jobs/\(number)") }
        #expect(deliveries == [["m1:1"], ["m2:1"], ["m3:1"], ["m1:1"], ["m2:1"], ["m3:1"]])
        #expect(shared(&index, "other/1").isEmpty)
    }

    @Test("round-robin skips unavailable members and falls back to the next one when none is available")
    func sharedAvailability() throws {
        var index = Index()
        for member in ["m1", "m2", "m3"] {
            index.insert(try filter("$share/g/t"), subscriber: member, options: 0)
        }
        #expect(shared(&index, "t", available: ["m2", "m3"]) == ["m2:0"])
        #expect(shared(&index, "t", available: ["m2", "m3"]) == ["m3:0"])
        #expect(shared(&index, "t", available: ["m2", "m3"]) == ["m2:0"])
        #expect(shared(&index, "t", available: ["m1"]) == ["m1:0"])
        // None available: the turn goes to the next member anyway, and keeps rotating.
        #expect(shared(&index, "t", available: []) == ["m2:0"])
        #expect(shared(&index, "t", available: []) == ["m3:0"])
        #expect(shared(&index, "t", available: []) == ["m1:0"])
    }

    @Test("two groups on the same filter each get one copy, and so does a group on an overlapping filter")
    func sharedGroupsAreIndependent() throws {
        var index = Index()
        index.insert(try filter("$share/a/s/+"), subscriber: "a1", options: 0)
        index.insert(try filter("$share/a/s/+"), subscriber: "a2", options: 0)
        index.insert(try filter("$share/b/s/+"), subscriber: "b1", options: 0)
        index.insert(try filter("$share/b/s/+"), subscriber: "b2", options: 0)
        index.insert(try filter("$share/a/s/#"), subscriber: "c1", options: 0)
        index.insert(try filter("s/+"), subscriber: "plain", options: 0)
        #expect(shared(&index, "s/1") == ["a1:0", "b1:0", "c1:0"])
        #expect(shared(&index, "s/2") == ["a2:0", "b2:0", "c1:0"])
        #expect(shared(&index, "s") == ["c1:0"])
        #expect(matches(index, "s/1") == ["plain:0"])
    }

    @Test("shared members are replaced, removed, and groups disappear with their last member")
    func sharedInsertRemove() throws {
        var index = Index()
        let group = try filter("$share/g/t")
        #expect(index.insert(group, subscriber: "m1", options: 0) == false)
        #expect(index.insert(group, subscriber: "m2", options: 0) == false)
        #expect(index.insert(group, subscriber: "m1", options: 2) == true)
        // The same subscriber may also hold the plain filter and another group on it.
        #expect(index.insert(try filter("t"), subscriber: "m1", options: 1) == false)
        #expect(index.insert(try filter("$share/h/t"), subscriber: "m1", options: 1) == false)
        #expect(index.count == 4)
        #expect(shared(&index, "t") == ["m1:1", "m1:2"])
        #expect(index.remove(try filter("$share/x/t"), subscriber: "m1") == false)
        #expect(index.remove(group, subscriber: "m1") == true)
        #expect(index.remove(group, subscriber: "m1") == false)
        #expect(shared(&index, "t") == ["m1:1", "m2:0"])
        #expect(index.remove(group, subscriber: "m2") == true)
        #expect(index.remove(try filter("$share/h/t"), subscriber: "m1") == true)
        #expect(shared(&index, "t").isEmpty)
        #expect(matches(index, "t") == ["m1:1"])
        #expect(index.remove(try filter("t"), subscriber: "m1") == true)
        #expect(index.isEmpty)
    }

    @Test("removing members keeps the turn with the member that had it")
    func sharedRemoveKeepsTurn() throws {
        var index = Index()
        let group = try filter("$share/g/t")
        for member in ["m1", "m2", "m3", "m4"] { index.insert(group, subscriber: member, options: 0) }
        #expect(shared(&index, "t") == ["m1:0"])
        #expect(shared(&index, "t") == ["m2:0"])
        index.remove(group, subscriber: "m1")  // before the turn: m3 keeps it
        #expect(shared(&index, "t") == ["m3:0"])
        index.remove(group, subscriber: "m4")  // the member whose turn it is: it passes on, wrapping
        #expect(shared(&index, "t") == ["m2:0"])
        #expect(shared(&index, "t") == ["m3:0"])
        index.remove(group, subscriber: "m2")
        #expect(shared(&index, "t") == ["m3:0"])
        index.remove(group, subscriber: "m3")
        #expect(shared(&index, "t").isEmpty)
        #expect(index.trieNodeCount == 0)
    }

    @Test("shared groups follow the $ rule and match the parent of #")
    func sharedDollarTopics() throws {
        var index = Index()
        index.insert(try filter("$share/g/#"), subscriber: "all", options: 0)
        index.insert(try filter("$share/g/$SYS/#"), subscriber: "sys", options: 0)
        #expect(shared(&index, "$SYS/x") == ["sys:0"])
        #expect(shared(&index, "$SYS") == ["sys:0"])
        #expect(shared(&index, "a/b") == ["all:0"])
    }

    @Test("forEach lists every subscription with the filter as sent")
    func forEachSubscription() throws {
        var index = Index()
        index.insert(try filter("a/+"), subscriber: "c1", options: 1)
        index.insert(try filter("$share/g/a//#"), subscriber: "c2", options: 2)
        index.insert(try filter("münchen"), subscriber: "c3", options: 0)
        var listed: [String] = []
        func list(filter: TopicFilter, subscriber: String, options: Int) {
            let shareGroup = filter.shareGroup ?? "-"
            listed.append(
                "\(filter.original)|\(filter.filter)|\(shareGroup)|\(filter.hasWildcards)|\(subscriber):\(options)"
            )
        }
        index.forEach(list)
        #expect(
            listed.sorted() == [
                "$share/g/a//#|a//#|g|true|c2:2", "a/+|a/+|-|true|c1:1", "münchen|münchen|-|false|c3:0",
            ]
        )
    }

    @Test("copies are independent values")
    func valueSemantics() throws {
        var index = Index()
        index.insert(try filter("a"), subscriber: "c1", options: 0)
        var copy = index
        copy.insert(try filter("a"), subscriber: "c2", options: 0)
        copy.remove(try filter("a"), subscriber: "c1")
        #expect(matches(index, "a") == ["c1:0"])
        #expect(matches(copy, "a") == ["c2:0"])
    }

    @Test("many filters survive table growth and removal in any order")
    func growthAndRemoval() throws {
        var index = Index()
        let filters = try (0..<500).map { try filter("d/\($0 % 17)/x\($0)/+") }
        for (number, f) in filters.enumerated() { index.insert(f, subscriber: "c\(number)", options: number) }
        #expect(index.count == 500)
        #expect(matches(index, "d/3/x20/t") == ["c20:20"])
        for (number, f) in filters.enumerated() where number % 2 == 0 {
            #expect(index.remove(f, subscriber: "c\(number)") == true)
        }
        #expect(index.count == 250)
        for number in 0..<500 {
            #expect(
                matches(index, "d/\(number % 17)/x\(number)/t") == (number % 2 == 0 ? [] : ["c\(number):\(number)"])
            )
        }
        for (number, f) in filters.enumerated() where number % 2 == 1 { index.remove(f, subscriber: "c\(number)") }
        #expect(index.isEmpty)
    }
}
