/// One injected fault and what became of it, in simulated seconds since the simulation started.
public struct FaultRecord: Sendable, Hashable, Codable, Identifiable {
    /// What became of a fault.
    public enum Outcome: Sendable, Hashable, Codable, CustomStringConvertible {
        /// Still active: a physical fault neither failed nor mitigated yet, or a sensor fault or
        /// communication loss within its duration.
        case running
        /// A physical fault ended in a failure: the device stopped at this time.
        case failed(at: Double)
        /// A physical fault was mitigated (load at or below the safe level, or stopped) before
        /// failing, at this time.
        case mitigated(at: Double)
        /// A sensor fault or communication loss cleared by itself at this time.
        case ended(at: Double)
        /// A physical fault removed by a repair (maintenance) at this time, before it failed.
        case repaired(at: Double)

        public var description: String {
            switch self {
            case .running: "running"
            case .failed(let at): "failed at +\(Int(at))s"
            case .mitigated(let at): "mitigated at +\(Int(at))s"
            case .ended(let at): "ended at +\(Int(at))s"
            case .repaired(let at): "repaired at +\(Int(at))s"
            }
        }
    }

    /// Sequence number in the log, from 1.
    public var id: Int
    /// The device the fault was injected into.
    public var deviceID: String
    public var kind: FaultKind
    /// The affected metric, for sensor faults.
    public var metric: String?
    /// When the fault started, simulated seconds since the simulation started.
    public var startedAt: Double
    /// When a sensor fault or communication loss clears by itself.
    public var endsAt: Double?
    public var outcome: Outcome
    /// Whether the fault was mitigated at some point (a physical fault can be mitigated, then
    /// provoked again and still fail: then ``outcome`` is `.failed` and this stays set).
    public var mitigatedAt: Double?

    public init(
        id: Int,
        deviceID: String,
        kind: FaultKind,
        metric: String?,
        startedAt: Double,
        endsAt: Double?,
        outcome: Outcome = .running,
        mitigatedAt: Double? = nil
    ) {
        self.id = id
        self.deviceID = deviceID
        self.kind = kind
        self.metric = metric
        self.startedAt = startedAt
        self.endsAt = endsAt
        self.outcome = outcome
        self.mitigatedAt = mitigatedAt
    }

    /// Whether the fault still acts on the device.
    public var isActive: Bool {
        switch outcome {
        case .running: true
        case .mitigated: kind.isPhysical
        case .failed, .ended, .repaired: false
        }
    }
}
