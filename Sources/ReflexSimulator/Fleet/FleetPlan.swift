/// One device of a fleet as planned: what the registry needs to know.
public struct PlannedDevice: Sendable, Hashable, Codable {
    public var id: String
    public var kind: DeviceKind
    public var labels: [String: String]
}

/// Names and labels for a fleet of `count` devices: about one chiller per four devices
/// (`chiller-001`...), the rest pumps (`pump-001`...), spread over sites (`plant-1`, `plant-2`...,
/// 20 devices each) and lines (`line-1`...`line-3`).
public enum FleetPlan {
    public static func devices(count: Int) -> [PlannedDevice] {
        guard count > 0 else { return [] }
        let chillers = count == 1 ? 0 : (count + 2) / 4
        let pumps = count - chillers
        var devices: [PlannedDevice] = []
        for index in 0..<count {
            let isPump = index < pumps
            let number = isPump ? index + 1 : index - pumps + 1
            let kind: DeviceKind = isPump ? .pump : .chiller
            let id = "\(kind.rawValue)-\(number < 10 ? "00" : number < 100 ? "0" : "")\(number)"
            let labels = ["site": "plant-\(index / 20 + 1)", "line": "line-\(index % 3 + 1)"]
            devices.append(PlannedDevice(id: id, kind: kind, labels: labels))
        }
        return devices
    }
}
