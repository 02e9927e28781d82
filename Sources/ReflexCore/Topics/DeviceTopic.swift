/// A topic of the device wire conventions (ARCHITECTURE.md, "Wire conventions"):
/// `devices/{id}/telemetry`, `devices/{id}/state`, `devices/{id}/status`,
/// `devices/{id}/commands/{name}` and `devices/{id}/commands/{name}/ack`.
public enum DeviceTopic: Sendable, Hashable {
    case telemetry(DeviceID)
    case state(DeviceID)
    case status(DeviceID)
    case command(DeviceID, name: String)
    case commandAck(DeviceID, name: String)

    /// The prefix every device topic starts with.
    public static let prefix = "devices/"

    /// Parses a topic name; nil when it is not one of the conventions (other topics are plain
    /// MQTT traffic that Reflex routes but does not ingest).
    /// - Complexity: O(length of the topic).
    public init?(_ topic: String) {
        guard topic.hasPrefix(Self.prefix) else { return nil }
        let levels = topic.utf8.dropFirst(Self.prefix.utf8.count).split(
            separator: UInt8(ascii: "/"),
            omittingEmptySubsequences: false
        )
        guard levels.count >= 2, let idText = String(levels[0]), let device = try? DeviceID(validating: idText) else {
            return nil
        }
        switch (levels.count, String(levels[1])) {
        case (2, "telemetry"): self = .telemetry(device)
        case (2, "state"): self = .state(device)
        case (2, "status"): self = .status(device)
        case (3, "commands"):
            guard let name = String(levels[2]), !name.isEmpty else { return nil }
            self = .command(device, name: name)
        case (4, "commands"):
            guard let name = String(levels[2]), !name.isEmpty, String(levels[3]) == "ack" else { return nil }
            self = .commandAck(device, name: name)
        default: return nil
        }
    }

    /// The device the topic belongs to.
    public var device: DeviceID {
        switch self {
        case .telemetry(let id), .state(let id), .status(let id), .command(let id, _), .commandAck(let id, _): id
        }
    }

    /// The topic name.
    public var topic: String {
        switch self {
        case .telemetry(let id): "devices/\(id)/telemetry"
        case .state(let id): "devices/\(id)/state"
        case .status(let id): "devices/\(id)/status"
        case .command(let id, let name): "devices/\(id)/commands/\(name)"
        case .commandAck(let id, let name): "devices/\(id)/commands/\(name)/ack"
        }
    }
}
