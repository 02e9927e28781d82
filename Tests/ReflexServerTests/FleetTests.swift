import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReflexCore
import ReflexNode
import ReflexServer
import ReflexStore
import Testing

/// Fixed answers for the fleet's providers.
private struct FakeAnomalies: FleetAnomalyProvider {
    let levels: [String: Double]
    func anomalyLevel(of device: DeviceID) async -> Double? { levels[device.rawValue] }
}

private struct FakeAutomation: FleetAutomationProvider {
    func alarmCounts(of device: DeviceID) async -> AlarmCounts {
        device.rawValue == "pump-1" ? AlarmCounts(critical: 1, warning: 2) : .zero
    }
    func autonomyMode(of device: DeviceID) async -> AutonomyMode { device.rawValue == "pump-1" ? .manual : .auto }
    func autonomyEnabled() async -> Bool? { false }
}

@Suite("GET /api/v1/fleet and /devices/{id}/state")
struct FleetTests {
    typealias F = DashboardTestFixture

    static func devices(_ response: TestResponse) throws -> [String: [String: Any]] {
        let list = try #require(try HTTPTestFixture.json(response)["devices"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as? String ?? "", $0) })
    }

    @Test("devices with status, last seen, freshness and latest values (no scores); no providers: null and zero")
    func withoutProviders() async throws {
        try await F.run { fixture, client in
            try await fixture.addDevice("pump-1", labels: ["site": "lyon"])
            try await fixture.addDevice("valve-2", type: "valve")
            let now = HTTPTestFixture.now
            try await fixture.base.append("pump-1", "temperature", [(now - 30_000, 70), (now - 5_000, 71.5)])
            // Detection's scores are series too; the overview's latest values are measurements.
            try await fixture.base.append("pump-1", "anomaly:temperature", [(now - 5_000, 0.2)])
            let pump = try DeviceID(validating: "pump-1")
            try await fixture.store.recordStatus(device: pump, online: true, at: now - 60_000, reason: "connected")
            try await client.execute(
                uri: "/api/v1/fleet",
                method: .get,
                headers: HTTPTestFixture.bearer(fixture.base.viewerToken)
            ) { response in
                #expect(response.status == .ok)
                let body = try HTTPTestFixture.json(response)
                #expect(body["autonomyEnabled"] is NSNull)
                let devices = try Self.devices(response)
                #expect(devices.keys.sorted() == ["pump-1", "valve-2"])
                let p = try #require(devices["pump-1"])
                #expect(p["type"] as? String == "pump")
                #expect(p["labels"] as? [String: String] == ["site": "lyon"])
                #expect(p["enabled"] as? Bool == true)
                #expect(p["online"] as? Bool == true)
                #expect((p["lastSeen"] as? Int).map(Int64.init) == now - 5_000)
                #expect(p["freshnessSeconds"] as? Int == 5)
                #expect(p["anomaly"] is NSNull)
                #expect(p["autonomy"] is NSNull)
                #expect(p["alarms"] as? [String: Int] == ["critical": 0, "major": 0, "minor": 0, "warning": 0])
                let latest = try #require(p["latest"] as? [String: [String: Any]])
                #expect(latest["temperature"]?["value"] as? Double == 71.5)
                #expect(latest.keys.sorted() == ["temperature"])
                let v = try #require(devices["valve-2"])
                #expect(v["online"] is NSNull)
                #expect(v["lastSeen"] is NSNull)
                #expect(v["freshnessSeconds"] is NSNull)
            }
        }
    }

    @Test("the providers fill anomaly, alarms, autonomy and the global switch")
    func withProviders() async throws {
        let makeAPI: @Sendable (F) -> HTTPAPI = {
            $0.api(anomalies: FakeAnomalies(levels: ["pump-1": 0.93]), automation: FakeAutomation())
        }
        try await F.run(makeAPI: makeAPI) { fixture, client in
            try await fixture.addDevice("pump-1")
            try await fixture.addDevice("pump-2")
            try await client.execute(
                uri: "/api/v1/fleet",
                method: .get,
                headers: HTTPTestFixture.bearer(fixture.base.viewerToken)
            ) { response in
                let body = try HTTPTestFixture.json(response)
                #expect(body["autonomyEnabled"] as? Bool == false)
                let devices = try Self.devices(response)
                #expect(devices["pump-1"]?["anomaly"] as? Double == 0.93)
                #expect(devices["pump-1"]?["autonomy"] as? String == "manual")
                #expect(
                    devices["pump-1"]?["alarms"] as? [String: Int] == [
                        "critical": 1, "major": 0, "minor": 0, "warning": 2,
                    ]
                )
                #expect(devices["pump-2"]?["anomaly"] is NSNull)
                #expect(devices["pump-2"]?["autonomy"] as? String == "auto")
            }
        }
    }

    @Test("type and label filters; a bad label is 400; no token is 401")
    func filtersAndAuth() async throws {
        try await F.run { fixture, client in
            try await fixture.addDevice("pump-1", labels: ["site": "a"])
            try await fixture.addDevice("pump-2", labels: ["site": "b"])
            try await fixture.addDevice("valve-1", type: "valve", labels: ["site": "a"])
            let auth = HTTPTestFixture.bearer(fixture.base.viewerToken)
            try await client.execute(uri: "/api/v1/fleet?type=pump&label=site=a", method: .get, headers: auth) {
                let devices = try Self.devices($0)
                #expect(devices.keys.sorted() == ["pump-1"])
            }
            try await client.execute(uri: "/api/v1/fleet?label=nope", method: .get, headers: auth) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/fleet", method: .get) { #expect($0.status == .unauthorized) }
        }
    }

    @Test("device state: status and attributes as JSON; 404 for an unknown device")
    func deviceState() async throws {
        try await F.run { fixture, client in
            try await fixture.addDevice("pump-1")
            try await fixture.addDevice("pump-2")
            let pump = try DeviceID(validating: "pump-1")
            try await fixture.store.recordStatus(device: pump, online: false, at: 1_000, reason: "will")
            try await fixture.store.recordAttributes(
                device: pump,
                json: #"{"firmware":"1.4.2","setpoint":72}"#,
                at: 2_000
            )
            let auth = HTTPTestFixture.bearer(fixture.base.viewerToken)
            try await client.execute(uri: "/api/v1/devices/pump-1/state", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let body = try HTTPTestFixture.json(response)
                #expect(body["online"] as? Bool == false)
                #expect(body["statusReason"] as? String == "will")
                #expect(body["attributesAt"] as? Int == 2_000)
                let attributes = try #require(body["attributes"] as? [String: Any])
                #expect(attributes["firmware"] as? String == "1.4.2")
                #expect(attributes["setpoint"] as? Double == 72)
            }
            try await client.execute(uri: "/api/v1/devices/pump-2/state", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                let body = try HTTPTestFixture.json(response)
                #expect(body["online"] is NSNull)
            }
            try await client.execute(uri: "/api/v1/devices/nobody/state", method: .get, headers: auth) {
                #expect($0.status == .notFound)
            }
        }
    }
}
