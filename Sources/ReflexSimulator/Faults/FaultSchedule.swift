import ReflexCore

/// A fault planned for a simulated time.
public struct ScheduledFault: Sendable, Hashable, Codable {
    /// Simulated seconds after the simulation starts.
    public var at: Double
    public var deviceID: String
    public var kind: FaultKind
    /// For sensor faults, the metric; nil lets the simulation pick one (seeded).
    public var metric: String?

    public init(at: Double, deviceID: String, kind: FaultKind, metric: String? = nil) {
        self.at = at
        self.deviceID = deviceID
        self.kind = kind
        self.metric = metric
    }
}

/// Seeded fault plans: the same seed, count, window and devices give the same plan.
public enum FaultSchedule {
    /// How often each kind is drawn: physical faults, the ones that need mitigating, are the most
    /// common.
    static let weights: [(FaultKind, Int)] = [
        (.bearingWear, 3), (.overheating, 3), (.sensorDrift, 1), (.stuckSensor, 1), (.spikes, 1),
        (.communicationLoss, 1),
    ]

    /// Spreads `count` faults over `window` simulated seconds: one per equal slice of the window
    /// at a seeded offset within it; devices are taken in a seeded shuffled order (so no device gets
    /// a second fault before every device got one); kinds are drawn by weight.
    /// - Parameters:
    ///   - count: how many faults.
    ///   - window: simulated seconds over which they start.
    ///   - deviceIDs: the candidates.
    ///   - seed: the plan's seed.
    ///   - kinds: the kinds to draw from (default: all).
    public static func make(
        count: Int,
        window: Double,
        deviceIDs: [String],
        seed: UInt64,
        kinds: Set<FaultKind> = Set(FaultKind.allCases)
    ) -> [ScheduledFault] {
        guard count > 0, !deviceIDs.isEmpty else { return [] }
        var random = SeededGenerator(seed: seed, stream: 0xFA17)
        let pool = weights.filter { kinds.contains($0.0) }
        let total = pool.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return [] }
        var order = deviceIDs.shuffled(using: &random)
        var plan: [ScheduledFault] = []
        let slice = max(0, window) / Double(count)
        for index in 0..<count {
            if index > 0 && index % order.count == 0 { order = deviceIDs.shuffled(using: &random) }
            let at = slice * (Double(index) + random.unit())
            var pick = Int(random.next() % UInt64(total))
            var kind = pool[0].0
            for (candidate, weight) in pool {
                if pick < weight {
                    kind = candidate
                    break
                }
                pick -= weight
            }
            plan.append(ScheduledFault(at: at, deviceID: order[index % order.count], kind: kind))
        }
        return plan
    }
}
