import Foundation
import Hummingbird
import ReflexCore
import ReflexNode
import ReflexStore

extension HTTPAPI {
    /// `GET /api/v1/fleet[?type=&label=k=v]` (every registered device with its health, alarms,
    /// anomaly level and autonomy state) and `GET /api/v1/devices/{id}/state` (online status and
    /// the last reported attributes).
    func addFleetRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.get("/api/v1/fleet") { request, context -> FleetResponse in
            _ = try context.require(.viewer)
            let query = QueryParameters(request)
            let found = try await api.devices.devices(type: query.text("type"), label: try Self.label(query))
            let now = api.now()
            var entries: [FleetResponse.Device] = []
            entries.reserveCapacity(found.count)
            for device in found {
                entries.append(try await api.fleetEntry(device, now: now))
            }
            return FleetResponse(devices: entries, autonomyEnabled: await api.fleetAutomation?.autonomyEnabled())
        }
        router.get("/api/v1/devices/:id/state") { _, context -> DeviceStateResponse in
            _ = try context.require(.viewer)
            let id = try Self.deviceID(context)
            let state = try await api.deviceStates?.deviceState(id)
            if state == nil { try await api.requireKnown(id) }
            return DeviceStateResponse(device: id, state: state)
        }
    }

    /// One row of the fleet overview.
    func fleetEntry(_ device: Device, now: Int64) async throws -> FleetResponse.Device {
        let state = try await deviceStates?.deviceState(device.id)
        // The detector's scores (`anomaly:<metric>`) are series too; the overview shows measurements.
        let latest = queries.latest(device: device.id).filter { !$0.key.rawValue.hasPrefix("anomaly:") }
        let lastSample = latest.values.map(\.timestamp).max()
        let lastSeen = [lastSample, state?.statusAt, state?.attributesAt].compactMap { $0 }.max()
        var values: [String: SampleResponse] = [:]
        for (metric, sample) in latest {
            values[metric.rawValue] = SampleResponse(ts: sample.timestamp, value: sample.value)
        }
        return FleetResponse.Device(
            id: device.id.rawValue,
            name: device.name,
            type: device.type,
            labels: device.labels,
            enabled: device.isEnabled,
            online: state?.status.map { $0 == "online" },
            lastSeen: lastSeen,
            freshnessSeconds: lastSample.map { max(0, (now - $0) / 1000) },
            anomaly: await fleetAnomalies?.anomalyLevel(of: device.id),
            alarms: await fleetAutomation?.alarmCounts(of: device.id) ?? .zero,
            autonomy: await fleetAutomation?.autonomyMode(of: device.id).rawValue,
            latest: values
        )
    }

    /// The `label=key=value` filter, if given.
    static func label(_ query: QueryParameters) throws -> (key: String, value: String)? {
        guard let text = query.text("label") else { return nil }
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw APIError.badParameter("label", text, expected: "key=value")
        }
        return (String(parts[0]), String(parts[1]))
    }
}

/// `GET /api/v1/fleet`
struct FleetResponse: ResponseEncodable {
    struct Device: Encodable {
        var id: String
        var name: String
        var type: String
        var labels: [String: String]
        var enabled: Bool
        var online: Bool?
        var lastSeen: Int64?
        var freshnessSeconds: Int64?
        var anomaly: Double?
        var alarms: AlarmCounts
        var autonomy: String?
        /// The latest sample of each metric (beyond the contract: the overview shows a few values).
        var latest: [String: SampleResponse]

        enum CodingKeys: String, CodingKey {
            case id, name, type, labels, enabled, online, lastSeen, freshnessSeconds, anomaly, alarms, autonomy, latest
        }

        // Unknown values are written as null, not left out, as the contract shows them.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(type, forKey: .type)
            try container.encode(labels, forKey: .labels)
            try container.encode(enabled, forKey: .enabled)
            try container.encode(online, forKey: .online)
            try container.encode(lastSeen, forKey: .lastSeen)
            try container.encode(freshnessSeconds, forKey: .freshnessSeconds)
            try container.encode(anomaly.flatMap { $0.isFinite ? $0 : nil }, forKey: .anomaly)
            try container.encode(alarms, forKey: .alarms)
            try container.encode(autonomy, forKey: .autonomy)
            try container.encode(latest, forKey: .latest)
        }
    }
    var devices: [Device]
    var autonomyEnabled: Bool?

    enum CodingKeys: String, CodingKey { case devices, autonomyEnabled }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(devices, forKey: .devices)
        try container.encode(autonomyEnabled, forKey: .autonomyEnabled)
    }
}

/// `GET /api/v1/devices/{id}/state`
struct DeviceStateResponse: ResponseEncodable {
    var device: String
    var online: Bool?
    var status: String?
    var statusAt: Int64?
    var statusReason: String?
    /// The reported attributes as JSON (an object), or null.
    var attributes: JSONValue?
    var attributesAt: Int64?

    init(device: DeviceID, state: DeviceState?) {
        self.device = device.rawValue
        self.online = state?.status.map { $0 == "online" }
        self.status = state?.status
        self.statusAt = state?.statusAt
        self.statusReason = state?.statusReason
        self.attributes = state?.attributes.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        self.attributesAt = state?.attributesAt
    }

    enum CodingKeys: String, CodingKey { case device, online, status, statusAt, statusReason, attributes, attributesAt }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(device, forKey: .device)
        try container.encode(online, forKey: .online)
        try container.encode(status, forKey: .status)
        try container.encode(statusAt, forKey: .statusAt)
        try container.encode(statusReason, forKey: .statusReason)
        try container.encode(attributes, forKey: .attributes)
        try container.encode(attributesAt, forKey: .attributesAt)
    }
}
