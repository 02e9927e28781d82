import ReflexMQTT
import Testing

@Suite struct TopicValidationTests {
    static let longTopic = String(repeating: "a", count: 70_000)

    static let invalidTopicNames: [(String, TopicValidationError)] = [
        ("", .empty(.topicName)),
        ("a/+", .wildcardInTopicName("a/+", offset: 2)),
        ("#", .wildcardInTopicName("#", offset: 0)),
        ("sport/tennis#", .wildcardInTopicName("sport/tennis#", offset: 12)),
        ("a\u{0}b", .nullCharacter(.topicName, "a\u{0}b", offset: 1)),
        (longTopic, .tooLong(.topicName, longTopic, length: 70_000, maxLength: 65_535)),
    ]

    @Test("invalid topic names are rejected with the reason", arguments: invalidTopicNames)
    func invalidTopicName(topic: String, expected: TopicValidationError) {
        #expect(throws: expected) { try TopicRules.validateTopicName(topic) }
        #expect(expected.reasonCode == .topicNameInvalid)
    }

    @Test(
        "valid topic names pass",
        arguments: ["a", "/", "a//b", "/a", "a/", "$SYS/broker", "münchen/straße", "a b/c", "$share/g/x"]
    )
    func validTopicName(topic: String) throws {
        try TopicRules.validateTopicName(topic)
    }

    @Test("topic names are limited in length and levels")
    func topicNameLimits() throws {
        try TopicRules.validateTopicName("a/b/c", maxLength: 5, maxLevels: 3)
        #expect(throws: TopicValidationError.tooLong(.topicName, "a/b/cd", length: 6, maxLength: 5)) {
            try TopicRules.validateTopicName("a/b/cd", maxLength: 5)
        }
        #expect(throws: TopicValidationError.tooManyLevels(.topicName, "a/b/c/", levels: 4, maxLevels: 3)) {
            try TopicRules.validateTopicName("a/b/c/", maxLevels: 3)
        }
        // The length counts UTF-8 bytes, not characters.
        #expect(throws: TopicValidationError.tooLong(.topicName, "üü", length: 4, maxLength: 3)) {
            try TopicRules.validateTopicName("üü", maxLength: 3)
        }
    }

    static let invalidFilters: [(String, TopicValidationError)] = [
        ("", .empty(.topicFilter)),
        ("sport/tennis/#/ranking", .multiLevelWildcardNotLast("sport/tennis/#/ranking", offset: 13)),
        ("#/", .multiLevelWildcardNotLast("#/", offset: 0)),
        ("sport/tennis#", .multiLevelWildcardNotAlone("sport/tennis#", offset: 12)),
        ("sport/#tennis", .multiLevelWildcardNotAlone("sport/#tennis", offset: 6)),
        ("##", .multiLevelWildcardNotAlone("##", offset: 0)),
        ("sport+", .singleLevelWildcardNotAlone("sport+", offset: 5)),
        ("sport/+tennis", .singleLevelWildcardNotAlone("sport/+tennis", offset: 6)),
        ("++", .singleLevelWildcardNotAlone("++", offset: 1)),
        ("+#", .multiLevelWildcardNotAlone("+#", offset: 1)),
        ("a/\u{0}", .nullCharacter(.topicFilter, "a/\u{0}", offset: 2)),
        ("$share/", .invalidShareName("$share/")),
        ("$share//a", .invalidShareName("$share//a")),
        ("$share/gr+up/a", .invalidShareName("$share/gr+up/a")),
        ("$share/#/a", .invalidShareName("$share/#/a")),
        ("$share/+", .invalidShareName("$share/+")),
        ("$share/group", .missingSharedFilter("$share/group")),
        ("$share/group/", .missingSharedFilter("$share/group/")),
        ("$share/group/a#", .multiLevelWildcardNotAlone("$share/group/a#", offset: 14)),
        ("$share/group/#/a", .multiLevelWildcardNotLast("$share/group/#/a", offset: 13)),
    ]

    @Test("invalid topic filters are rejected with the reason", arguments: invalidFilters)
    func invalidFilter(filter: String, expected: TopicValidationError) {
        #expect(throws: expected) { try TopicRules.parseFilter(filter) }
        #expect(expected.reasonCode == .topicFilterInvalid)
    }

    static let validFilters: [(String, String, String?, Bool)] = [
        ("a", "a", nil, false),
        ("#", "#", nil, true),
        ("+", "+", nil, true),
        ("+/+", "+/+", nil, true),
        ("/#", "/#", nil, true),
        ("a//+/#", "a//+/#", nil, true),
        ("$SYS/#", "$SYS/#", nil, true),
        ("$share", "$share", nil, false),
        ("$shared/a", "$shared/a", nil, false),
        ("$share/g/a/b", "a/b", "g", false),
        ("$share/g/#", "#", "g", true),
        ("$share/consumers/+/x", "+/x", "consumers", true),
        ("$share/g//", "/", "g", false),
        ("$share/$g/a", "a", "$g", false),
    ]

    @Test("valid topic filters are parsed into filter and share name", arguments: validFilters)
    func validFilter(original: String, filter: String, shareGroup: String?, hasWildcards: Bool) throws {
        let parsed = try TopicRules.parseFilter(original)
        #expect(parsed.filter == filter)
        #expect(parsed.shareGroup == shareGroup)
        #expect(parsed.original == original)
        #expect(parsed.hasWildcards == hasWildcards)
        #expect(parsed.isShared == (shareGroup != nil))
    }

    @Test("shared filters are refused where they are not allowed")
    func sharedNotAllowed() throws {
        let error = #expect(throws: TopicValidationError.sharedSubscriptionNotAllowed("$share/g/a")) {
            try TopicRules.parseFilter("$share/g/a", allowsShared: false)
        }
        #expect(error?.reasonCode == .sharedSubscriptionsNotSupported)
        _ = try TopicRules.parseFilter("a/$share/g", allowsShared: false)
    }

    @Test("topic filters are limited in length and levels; shared ones count levels after the share name")
    func filterLimits() throws {
        _ = try TopicRules.parseFilter("$share/g/a/b", maxLength: 12, maxLevels: 2)
        #expect(throws: TopicValidationError.tooLong(.topicFilter, "$share/g/a/b", length: 12, maxLength: 11)) {
            try TopicRules.parseFilter("$share/g/a/b", maxLength: 11)
        }
        #expect(throws: TopicValidationError.tooManyLevels(.topicFilter, "a/+/#", levels: 3, maxLevels: 2)) {
            try TopicRules.parseFilter("a/+/#", maxLevels: 2)
        }
    }

    @Test("error messages name the problem and the topic")
    func messages() {
        let notLast = TopicValidationError.multiLevelWildcardNotLast("a/#/b", offset: 2)
        #expect(
            notLast.description
                == "topic filter 'a/#/b' has '#' at byte 2 before its last level; '#' must be the last level"
        )
        #expect(TopicValidationError.wildcardInTopicName("a/+", offset: 2).description.contains("'a/+'"))
        #expect(TopicValidationError.invalidShareName("$share//a").description.contains("'$share//a'"))
        let long = TopicValidationError.tooLong(.topicName, Self.longTopic, length: 70_000, maxLength: 65_535)
        #expect(long.description.count < 200)
        #expect(long.description.contains("70000 bytes long; the limit is 65535"))
    }

    @Test("filters compare by the string the client sent")
    func filterEquality() throws {
        #expect(try TopicRules.parseFilter("a/+") == TopicRules.parseFilter("a/+"))
        #expect(try TopicRules.parseFilter("$share/g/a") != TopicRules.parseFilter("a"))
        #expect(try TopicRules.parseFilter("$share/g/a") != TopicRules.parseFilter("$share/h/a"))
        #expect(Set([try TopicRules.parseFilter("x"), try TopicRules.parseFilter("x")]).count == 1)
    }
}
