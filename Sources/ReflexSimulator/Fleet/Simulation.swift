public import ReflexCore

/// The pure core of a simulated fleet: devices, a fault plan and the fault log, advanced by
/// explicit time steps. No clock, no I/O, no global randomness: the same seed, plan and sequence
/// of calls give the same readings and the same log.
public struct Simulation: Sendable {
    /// The devices, in plan order.
    public private(set) var devices: [VirtualDevice]
    /// Every injected fault and its outcome, in injection order.
    public private(set) var faultLog: [FaultRecord] = []
    /// Simulated seconds since the start.
    public private(set) var elapsed: Double = 0
    /// Simulated time at the start, seconds since 1970 (sets the time of day of the daily cycle).
    public let startTime: Double
    /// Faults planned but not yet started, in time order.
    public private(set) var pending: [ScheduledFault]
    private var random: SeededGenerator
    private let index: [String: Int]

    /// The longest physics step; longer advances are split.
    public static let maximumStep = 1.0

    /// - Parameters:
    ///   - devices: the fleet (see ``FleetPlan``).
    ///   - seed: seeds every device's noise and the choice of faulty metrics.
    ///   - startTime: simulated seconds since 1970 at the start.
    ///   - schedule: faults to inject at their times (see ``FaultSchedule``).
    public init(devices: [PlannedDevice], seed: UInt64, startTime: Double, schedule: [ScheduledFault] = []) {
        self.startTime = startTime
        self.devices = devices.enumerated().map { offset, device in
            VirtualDevice(
                id: device.id,
                kind: device.kind,
                labels: device.labels,
                seed: Self.deviceSeed(seed, offset),
                time: startTime
            )
        }
        index = Dictionary(devices.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
        pending = schedule.sorted { $0.at < $1.at }
        random = SeededGenerator(seed: seed, stream: 0x5E45)
    }

    private static func deviceSeed(_ seed: UInt64, _ offset: Int) -> UInt64 {
        var generator = SeededGenerator(seed: seed, stream: UInt64(offset + 1))
        return generator.next()
    }

    /// Simulated seconds since 1970 now.
    public var now: Double { startTime + elapsed }

    /// The device with this id.
    public func device(_ id: String) -> VirtualDevice? {
        index[id].map { devices[$0] }
    }

    // MARK: - Time

    /// Advances every device by `dt` simulated seconds (in steps of at most ``maximumStep``),
    /// starting planned faults on time and updating fault outcomes after every step.
    public mutating func advance(by dt: Double) {
        var remaining = max(0, dt)
        while remaining > 0 {
            let step = min(Self.maximumStep, remaining)
            remaining -= step
            elapsed += step
            while let next = pending.first, next.at <= elapsed {
                pending.removeFirst()
                _ = try? inject(next.kind, into: next.deviceID, metric: next.metric, at: max(next.at, elapsed - step))
            }
            for offset in devices.indices { devices[offset].step(dt: step, time: now) }
            updateOutcomes()
        }
    }

    private mutating func updateOutcomes() {
        for offset in faultLog.indices {
            let record = faultLog[offset]
            guard let deviceIndex = index[record.deviceID] else { continue }
            let device = devices[deviceIndex]
            switch record.outcome {
            case .failed, .ended, .repaired: continue
            case .running, .mitigated: break
            }
            if record.kind.isPhysical {
                if device.failure != nil {
                    faultLog[offset].outcome = .failed(at: elapsed)
                    devices[deviceIndex].end(record)
                } else if device.loadFraction <= PhysicalFaults.safeLoadFraction {
                    if case .running = record.outcome {
                        faultLog[offset].outcome = .mitigated(at: elapsed)
                        faultLog[offset].mitigatedAt = faultLog[offset].mitigatedAt ?? elapsed
                    }
                } else if case .mitigated = record.outcome {
                    faultLog[offset].outcome = .running  // provoked again: it progresses again
                }
            } else if let endsAt = record.endsAt, elapsed >= endsAt {
                faultLog[offset].outcome = .ended(at: endsAt)
                devices[deviceIndex].end(record)
            }
        }
    }

    // MARK: - Faults

    /// Starts a fault now (or at `at`, simulated seconds since the start) and logs it.
    /// - Parameters:
    ///   - kind: the fault.
    ///   - deviceID: the device.
    ///   - metric: for sensor faults, the metric (default: one picked with the seed).
    ///   - duration: for sensor faults and communication loss, simulated seconds (default: the
    ///     kind's ``FaultKind/defaultDuration``).
    /// - Returns: the log record.
    /// - Throws: ``SimulationError`` for an unknown device or a metric the device does not have.
    @discardableResult
    public mutating func inject(
        _ kind: FaultKind,
        into deviceID: String,
        metric: String? = nil,
        duration: Double? = nil,
        at time: Double? = nil
    ) throws(SimulationError) -> FaultRecord {
        guard let deviceIndex = index[deviceID] else {
            throw SimulationError(
                "no simulated device '\(deviceID)'; devices: \(devices.prefix(5).map(\.id).joined(separator: ", "))"
                    + (devices.count > 5 ? ", ..." : "")
            )
        }
        let device = devices[deviceIndex]
        var chosenMetric: String?
        if kind.isSensorFault {
            if let metric {
                guard device.kind.metrics.contains(metric) else {
                    throw SimulationError(
                        "\(device.kind) '\(deviceID)' has no metric '\(metric)'; metrics: "
                            + device.kind.metrics.joined(separator: ", ")
                    )
                }
                chosenMetric = metric
            } else {
                chosenMetric = device.kind.metrics[Int(random.next() % UInt64(device.kind.metrics.count))]
            }
        }
        let start = time ?? elapsed
        let record = FaultRecord(
            id: faultLog.count + 1,
            deviceID: deviceID,
            kind: kind,
            metric: chosenMetric,
            startedAt: start,
            endsAt: kind.isPhysical ? nil : start + (duration ?? kind.defaultDuration ?? 0)
        )
        faultLog.append(record)
        devices[deviceIndex].begin(record)
        return record
    }

    /// Repairs a device (see ``VirtualDevice/repair()``): its physical faults that had not
    /// failed yet are closed as repaired; sensor faults and communication losses run on.
    public mutating func repair(_ deviceID: String) throws(SimulationError) {
        guard let deviceIndex = index[deviceID] else { throw SimulationError("no simulated device '\(deviceID)'") }
        devices[deviceIndex].repair()
        for offset in faultLog.indices where faultLog[offset].deviceID == deviceID && faultLog[offset].kind.isPhysical {
            switch faultLog[offset].outcome {
            case .running, .mitigated: faultLog[offset].outcome = .repaired(at: elapsed)
            case .failed, .ended, .repaired: break
            }
        }
    }

    // MARK: - Readings and commands

    /// The device's reading now, or nil while it is silent (communication loss).
    public mutating func reading(of deviceID: String) -> Reading? {
        guard let deviceIndex = index[deviceID], !devices[deviceIndex].isSilent(at: elapsed) else { return nil }
        return devices[deviceIndex].reading(at: now)
    }

    /// Whether the device is silent now.
    public func isSilent(_ deviceID: String) -> Bool {
        guard let deviceIndex = index[deviceID] else { return false }
        return devices[deviceIndex].isSilent(at: elapsed)
    }

    /// Applies a command to a device. Mitigation takes effect in the fault log at the next step.
    public mutating func apply(_ command: String, params: [String: JSONValue], to deviceID: String) -> CommandResult {
        guard let deviceIndex = index[deviceID] else { return .rejected("no simulated device '\(deviceID)'") }
        return devices[deviceIndex].apply(command, params: params)
    }
}

/// A request the simulation cannot carry out, with the reason.
public struct SimulationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
