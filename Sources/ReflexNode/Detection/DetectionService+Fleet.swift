public import ReflexCore

/// Detection's view of each device for the dashboard's fleet overview.
extension DetectionService: FleetAnomalyProvider {
    /// The highest score among the latest verdicts of the device's metrics; nil before any of
    /// its samples was scored.
    public func anomalyLevel(of device: DeviceID) async -> Double? {
        status.latest(device: device).values.map(\.score).max()
    }
}
