import ReflexMQTT
import Testing

@Suite struct RetainedIndexTests {
    func matches(_ index: RetainedIndex<Int>, _ filter: String) throws -> [String] {
        var found: [String] = []
        index.forEachMatch(filter: try TopicRules.parseFilter(filter)) { found.append("\($0)=\($1)") }
        return found.sorted()
    }

    @Test("set stores one message per topic, replacing the previous one")
    func setAndReplace() {
        var index = RetainedIndex<Int>()
        #expect(index.isEmpty)
        index.set(topic: "a/b", message: 1)
        index.set(topic: "a/b", message: 2)
        index.set(topic: "a", message: 3)
        #expect(index.count == 2)
        #expect(index.message(for: "a/b") == 2)
        #expect(index.message(for: "a") == 3)
        #expect(index.message(for: "a/c") == nil)
        #expect(index.message(for: "a/b/c") == nil)
    }

    @Test("remove returns the message and prunes, keeping other topics")
    func remove() throws {
        var index = RetainedIndex<Int>()
        index.set(topic: "a", message: 1)
        index.set(topic: "a/b/c", message: 2)
        #expect(index.remove(topic: "a/b") == nil)
        #expect(index.remove(topic: "x") == nil)
        #expect(index.remove(topic: "a/b/c") == 2)
        #expect(index.remove(topic: "a/b/c") == nil)
        #expect(index.count == 1)
        #expect(index.trieNodeCount == 1)
        #expect(try matches(index, "#") == ["a=1"])
        #expect(index.remove(topic: "a") == 1)
        #expect(index.isEmpty)
        #expect(index.trieNodeCount == 0)
        #expect(try matches(index, "#").isEmpty)
        index.set(topic: "a/b/c", message: 4)
        #expect(try matches(index, "a/+/c") == ["a/b/c=4"])
    }

    static let topics = [
        "sport", "sport/tennis", "sport/tennis/player1", "sport/tennis/player1/ranking", "sport/football",
        "sport/", "/", "/finance", "a//b", "$SYS", "$SYS/broker/clients", "$SYS/uptime", "x/$SYS",
    ]

    static let filterCases: [(String, [String])] = [
        ("sport", ["sport"]),
        (
            "sport/#",
            [
                "sport", "sport/tennis", "sport/tennis/player1", "sport/tennis/player1/ranking", "sport/football",
                "sport/",
            ]
        ),
        ("sport/+", ["sport/tennis", "sport/football", "sport/"]),
        ("sport/tennis/player1/#", ["sport/tennis/player1", "sport/tennis/player1/ranking"]),
        ("+", ["sport"]),
        ("+/+", ["sport/tennis", "sport/football", "sport/", "/", "/finance", "x/$SYS"]),
        ("/+", ["/", "/finance"]),
        ("+/tennis/#", ["sport/tennis", "sport/tennis/player1", "sport/tennis/player1/ranking"]),
        ("a/+/b", ["a//b"]),
        (
            "#",
            [
                "sport", "sport/tennis", "sport/tennis/player1", "sport/tennis/player1/ranking", "sport/football",
                "sport/", "/", "/finance", "a//b", "x/$SYS",
            ]
        ),
        ("$SYS/#", ["$SYS", "$SYS/broker/clients", "$SYS/uptime"]),
        ("$SYS/+", ["$SYS/uptime"]),
        ("$SYS/+/clients", ["$SYS/broker/clients"]),
        ("+/broker/clients", []),
        ("x/+", ["x/$SYS"]),
        ("$share/g/sport/+", ["sport/tennis", "sport/football", "sport/"]),
        ("nothing/#", []),
    ]

    @Test("forEachMatch finds the retained messages a filter matches", arguments: filterCases)
    func forEachMatch(filter: String, expected: [String]) throws {
        var index = RetainedIndex<Int>()
        for (number, topic) in Self.topics.enumerated() { index.set(topic: topic, message: number) }
        let expectedPairs = expected.map { topic in "\(topic)=\(Self.topics.firstIndex(of: topic) ?? -1)" }
        #expect(try matches(index, filter) == expectedPairs.sorted())
    }

    @Test("removeAll(where:) sweeps expired messages and leaves the rest routable")
    func removeAllWhere() throws {
        var index = RetainedIndex<Int>()
        for (number, topic) in Self.topics.enumerated() { index.set(topic: topic, message: number) }
        index.removeAll { topic, message in message % 2 == 0 || topic.hasPrefix("sport") }
        var left: [String] = []
        func collect(topic: String, message: Int) { left.append(topic) }
        index.forEach(collect)
        let expected = Self.topics.enumerated().filter { $0.offset % 2 == 1 && !$0.element.hasPrefix("sport") }
            .map(\.element)
        #expect(left.sorted() == expected.sorted())
        #expect(index.count == expected.count)
        #expect(try matches(index, "sport/#").isEmpty)
        #expect(index.trieNodeCount == 4)  // left: "/finance", "$SYS" and "$SYS/uptime"
        index.removeAll { _, _ in true }
        #expect(index.isEmpty)
        #expect(index.trieNodeCount == 0)
        #expect(try matches(index, "#").isEmpty)
        index.set(topic: "sport/tennis", message: 1)
        #expect(try matches(index, "sport/#") == ["sport/tennis=1"])
    }

    @Test("forEach lists every retained message once")
    func forEachMessage() {
        var index = RetainedIndex<Int>()
        for (number, topic) in Self.topics.enumerated() { index.set(topic: topic, message: number) }
        var listed: [String] = []
        func collect(topic: String, message: Int) { listed.append("\(topic)=\(message)") }
        index.forEach(collect)
        #expect(listed.sorted() == Self.topics.enumerated().map { "\($1)=\($0)" }.sorted())
    }
}
