import ReflexMQTT
import Testing

@Suite struct TopicMatchingTests {
    /// (filter, topic, matches): the examples of MQTT 5.0 §4.7.1.2, §4.7.1.3 and §4.7.2, then edge cases.
    static let cases: [(String, String, Bool)] = [
        // §4.7.1.2 multi-level wildcard
        ("sport/tennis/player1/#", "sport/tennis/player1", true),
        ("sport/tennis/player1/#", "sport/tennis/player1/ranking", true),
        ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true),
        ("sport/#", "sport", true),
        ("#", "sport", true),
        ("#", "sport/tennis/player1", true),
        ("#", "/", true),
        ("#", "/sport", true),
        // §4.7.1.3 single-level wildcard
        ("sport/tennis/+", "sport/tennis/player1", true),
        ("sport/tennis/+", "sport/tennis/player2", true),
        ("sport/tennis/+", "sport/tennis/player1/ranking", false),
        ("sport/+", "sport", false),
        ("sport/+", "sport/", true),
        ("+", "sport", true),
        ("+/tennis/#", "sport/tennis", true),
        ("+/tennis/#", "sport/tennis/player1", true),
        ("+/tennis/#", "sport/football", false),
        ("sport/+/player1", "sport/tennis/player1", true),
        ("sport/+/player1", "sport/tennis/player2", false),
        ("/finance", "/finance", true),
        ("+/+", "/finance", true),
        ("/+", "/finance", true),
        ("+", "/finance", false),
        // §4.7.2 topics beginning with $
        ("#", "$SYS", false),
        ("#", "$SYS/broker/clients", false),
        ("+/monitor/Clients", "$SYS/monitor/Clients", false),
        ("$SYS/#", "$SYS/monitor/Clients", true),
        ("$SYS/#", "$SYS", true),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
        ("+", "$SYS", false),
        ("+/+", "$SYS/x", false),
        ("$SYS/+", "$SYS/", true),
        ("sport/#", "sport/$SYS", true),
        ("sport/+", "sport/$SYS", true),
        ("$share", "$share", true),
        // literal and empty levels
        ("a", "a", true),
        ("a", "b", false),
        ("a", "ab", false),
        ("ab", "a", false),
        ("a/b", "a", false),
        ("a", "a/b", false),
        ("a", "a/", false),
        ("a/", "a/", true),
        ("a/", "a", false),
        ("a//b", "a//b", true),
        ("a//b", "a/b", false),
        ("a/+/b", "a//b", true),
        ("a/+/b", "a/b", false),
        ("a/+/+", "a//", true),
        ("+/+/+", "//", true),
        ("+/+", "//", false),
        ("/", "/", true),
        ("+", "/", false),
        ("+/", "/", true),
        ("//#", "//", true),
        ("a/#", "a/", true),
        ("a/#", "a//b/", true),
        ("a/b/#", "a/bc", false),
        ("a/+/#", "a", false),
        ("a/+/#", "a/b", true),
        ("+/#", "a", true),
        ("+/#", "a/b/c", true),
        ("A", "a", false),
        ("münchen/+", "münchen/temp", true),
        ("m/+", "münchen/temp", false),
        ("sensors/#", "sensors", true),
        ("sensors/+/temperature", "sensors/pump-7/temperature", true),
        ("sensors/+/temperature", "sensors/pump-7/pressure", false),
    ]

    @Test("a topic filter matches topic names exactly as MQTT 5.0 §4.7 says", arguments: cases)
    func matching(filter: String, topic: String, expected: Bool) throws {
        #expect(TopicFilter.matches(filter: filter, topic: topic) == expected)
        let parsed = try TopicRules.parseFilter(filter)
        #expect(parsed.matches(topic) == expected)
        try TopicRules.validateTopicName(topic)
    }

    @Test("a shared filter matches with the filter after its share name")
    func sharedFilterMatching() throws {
        let filter = try TopicRules.parseFilter("$share/workers/sensors/#")
        #expect(filter.matches("sensors/a"))
        #expect(!filter.matches("$share/workers/sensors/a"))
        #expect(!(try TopicRules.parseFilter("$share/g/#")).matches("$SYS/x"))
    }
}
