import ReflexCore
import Testing

@Suite struct DeviceTopicTests {
    @Test(
        "device topics parse and print back",
        arguments: [
            "devices/pump-7/telemetry", "devices/pump-7/state", "devices/pump-7/status",
            "devices/pump-7/commands/set_speed", "devices/pump-7/commands/set_speed/ack",
        ]
    )
    func roundTrip(topic: String) throws {
        let parsed = try #require(DeviceTopic(topic))
        #expect(parsed.topic == topic)
        #expect(parsed.device.rawValue == "pump-7")
    }

    @Test(
        "other topics are not device topics",
        arguments: [
            "devices/pump-7", "devices//telemetry", "devices/pump 7/telemetry", "devices/pump-7/telemetry/extra",
            "device/pump-7/telemetry", "devices/pump-7/commands", "devices/pump-7/commands//ack",
            "devices/pump-7/commands/x/nack", "plant/a/b",
        ]
    )
    func rejects(topic: String) {
        #expect(DeviceTopic(topic) == nil)
    }
}
