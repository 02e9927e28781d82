import ReflexMQTT
import Testing

/// U+0000 is reported as what it is, not as "not valid UTF-8".
@Suite struct NullCharacterMessageTests {
    @Test("a topic with U+0000 says so, names the rule and prints the character visibly")
    func topicMessage() {
        let error = TopicValidationError.nullCharacter(.topicName, "devices/a\u{0}b", offset: 9)
        #expect(error.description.contains("contains U+0000"))
        #expect(error.description.contains("MQTT-4.7.3-2"))
        #expect(error.description.contains(#"'devices/a\0b'"#))
        #expect(!error.description.utf8.contains(0))
        #expect(!error.description.contains("UTF-8"))
    }

    @Test("the codec reports U+0000 in a string as a null character, not as bad UTF-8")
    func codecMessage() {
        let error = PacketDecodingError.nullCharacter(field: "topic name", offset: 1)
        #expect(
            error.description
                == "topic name contains U+0000 at byte 1; MQTT forbids the null character in strings (MQTT-1.5.4-2)"
        )
        #expect(error.reasonCode == .malformedPacket)
        #expect(error.metricLabel == "null_character")
    }
}
