import Foundation
package import ReflexNode
import ReflexServer
package import ReflexSimulator

/// What the autonomy benchmark observed, as plain records in wall-clock milliseconds, and the
/// report computed from them (pure, so tests can feed records by hand).
package struct AutonomyObservations: Sendable {
    /// A fault from the simulator's log, in wall-clock ms.
    package struct Fault: Sendable, Hashable {
        package var id: Int
        package var device: String
        package var kind: FaultKind
        package var metric: String?
        package var startedAt: Int64
        /// When it failed (physical) or ended (sensor, communication loss); nil: still running.
        package var failedAt: Int64?
        package var endedAt: Int64?
        /// When it was first mitigated (physical).
        package var mitigatedAt: Int64?
        /// Its outcome at the end of the run.
        package var isMitigated: Bool
    }

    /// Something the node did or saw that can count as a detection or a false action.
    package struct Signal: Sendable, Hashable {
        package enum Kind: String, Sendable, Hashable {
            /// A rule raised an alarm.
            case alarm
            /// A rule created a command.
            case ruleCommand
            /// A fail-safe command was applied.
            case failSafe
            /// A data-quality condition started (detection).
            case dataQuality
            /// An anomaly score at or above the threshold (detection).
            case anomaly
        }
        package var kind: Kind
        package var device: String
        /// The metric, for detection signals.
        package var metric: String?
        package var at: Int64
        /// Alarm type, command name or quality kind, for the listing.
        package var label: String
    }

    /// A command as it reached a device (seen by an MQTT subscriber on the device's command
    /// topic), with what the simulator's true state said at that moment.
    package struct Arrival: Sendable, Hashable {
        package var commandID: String
        package var device: String
        package var name: String
        package var at: Int64
        /// Where the command came from (`rule:...`, `failsafe...`, an operator), once known.
        package var origin: String?
        /// The interlocks of its rule that were false on the true state at arrival.
        package var violatedInterlocks: [String]
    }

    package var faults: [Fault] = []
    package var signals: [Signal] = []
    package var arrivals: [Arrival] = []
    /// Devices in manual override for the whole run.
    package var overridden: Set<String> = []
    /// When the run ended (wall ms).
    package var endedAt: Int64 = 0
    /// How long after a fault ended its device still counts as faulty (alarms clear with a lag).
    package var grace: Int64 = 60_000
    /// p50 and p99 telemetry-to-command latency (µs) and how many commands they cover.
    package var latency: (count: Int, p50: Double?, p99: Double?) = (0, nil, nil)
    /// Where the decisions' time went: commit, bus, engine, publish.
    package var timing = DecisionTimingSummary()

    package init() {}
}

/// The numbers `reflex bench autonomy` prints and checks against its targets.
package struct AutonomyReport: Sendable {
    package var injected: [FaultKind: Int] = [:]
    package var faultCount = 0
    package var detected = 0
    package var undetected: [AutonomyObservations.Fault] = []
    /// Detection delays, wall seconds.
    package var delays: [Double] = []
    /// What detected each detected fault first.
    package var detectedBy: [String: Int] = [:]
    /// Anomaly (score ≥ threshold) and data-quality signals on devices without an active fault:
    /// information, not actions.
    package var signalsWithoutFault = 0
    package var physical = 0
    package var mitigated = 0
    package var failed = 0
    package var unresolved = 0
    package var physicalOnOverride = 0
    package var falseAlarms = 0
    /// The false actions themselves (alarm type or command name, device, time).
    package var falseActions: [AutonomyObservations.Signal] = []
    package var falseCommands = 0
    package var commandsForSensorFaults = 0
    package var interlockViolations: [AutonomyObservations.Arrival] = []
    package var overridesIgnored: [AutonomyObservations.Arrival] = []
    package var latencyCount = 0
    package var latencyP50: Double?
    package var latencyP99: Double?
    package var timing = DecisionTimingSummary()

    package var detectedPercent: Double { faultCount == 0 ? 100 : 100 * Double(detected) / Double(faultCount) }
    package var mitigatedPercent: Double { physical == 0 ? 100 : 100 * Double(mitigated) / Double(physical) }
    package var delayMedian: Double? { Self.percentile(delays, 0.5) }
    package var delayP95: Double? { Self.percentile(delays, 0.95) }

    /// Target checks: (name, met).
    package var targets: [(String, Bool)] {
        [
            ("≥ 95 % detected", detectedPercent >= 95),
            ("≥ 80 % mitigated before failure", mitigatedPercent >= 80),
            ("0 interlock violations", interlockViolations.isEmpty),
            ("0 overrides ignored", overridesIgnored.isEmpty),
            ("p99 decision latency < 5 ms", (latencyP99 ?? .infinity) < 5000),
        ]
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))
        return sorted[index]
    }

    /// Computes the report. Definitions (also in docs/autonomy.md):
    /// - a fault is **detected** when, on its device, after it started and before it failed or
    ///   ended (or the run ended), a rule raised an alarm or created a command, a fail-safe was
    ///   applied, or (with detection) a data-quality condition started or an anomaly score reached
    ///   the threshold — on the faulted metric for a sensor fault, on any metric otherwise;
    /// - a physical fault is **mitigated before failure** when its outcome at the end is mitigated;
    ///   faults on overridden devices are left out (nobody may act on them);
    /// - a **false action** is an alarm raised or a rule or fail-safe command created on a device
    ///   with no fault active then (a fault is active from its start until `grace` after it failed
    ///   or ended; a physical fault stays active once mitigated);
    /// - an **interlock violation** is a rule command that reached its device while one of the
    ///   rule's interlocks was false on the simulator's true state;
    /// - an **override ignored** is a command not sent by an operator that reached a device in
    ///   manual override.
    package init(_ o: AutonomyObservations) {
        faultCount = o.faults.count
        for fault in o.faults { injected[fault.kind, default: 0] += 1 }
        let byDevice = Dictionary(grouping: o.signals, by: \.device)
        for fault in o.faults {
            let end = fault.failedAt ?? fault.endedAt ?? o.endedAt
            let first = (byDevice[fault.device] ?? [])
                .filter { signal in
                    guard signal.at >= fault.startedAt, signal.at <= end else { return false }
                    switch signal.kind {
                    case .alarm, .ruleCommand, .failSafe: return true
                    case .dataQuality, .anomaly:
                        return !fault.kind.isSensorFault || signal.metric == fault.metric
                    }
                }
                .min { $0.at < $1.at }
            if let first {
                detected += 1
                delays.append(Double(first.at - fault.startedAt) / 1000)
                detectedBy[first.kind.rawValue, default: 0] += 1
            } else {
                undetected.append(fault)
            }
            guard fault.kind.isPhysical else { continue }
            if o.overridden.contains(fault.device) {
                physicalOnOverride += 1
                continue
            }
            physical += 1
            if fault.isMitigated {
                mitigated += 1
            } else if fault.failedAt != nil {
                failed += 1
            } else {
                unresolved += 1
            }
        }
        let faultsByDevice = Dictionary(grouping: o.faults, by: \.device)
        for signal in o.signals {
            let active = (faultsByDevice[signal.device] ?? []).filter { fault in
                guard signal.at >= fault.startedAt else { return false }
                if fault.kind.isPhysical && fault.failedAt == nil { return true }
                guard let end = fault.failedAt ?? fault.endedAt else { return true }
                return signal.at <= end + o.grace
            }
            guard signal.kind == .alarm || signal.kind == .ruleCommand || signal.kind == .failSafe else {
                if active.isEmpty { signalsWithoutFault += 1 }
                continue
            }
            if active.isEmpty {
                falseActions.append(signal)
                if signal.kind == .alarm { falseAlarms += 1 } else { falseCommands += 1 }
            } else if signal.kind == .ruleCommand, !active.contains(where: { $0.kind.isPhysical }) {
                commandsForSensorFaults += 1
            }
        }
        interlockViolations = o.arrivals.filter { !$0.violatedInterlocks.isEmpty }
        overridesIgnored = o.arrivals.filter { arrival in
            guard o.overridden.contains(arrival.device) else { return false }
            let origin = arrival.origin ?? "unknown"
            return origin.hasPrefix("rule:") || origin.hasPrefix("fail-safe") || origin == "unknown"
        }
        latencyCount = o.latency.count
        latencyP50 = o.latency.p50
        latencyP99 = o.latency.p99
        timing = o.timing
    }
}

extension AutonomyReport {
    /// Whether every target is met.
    package var targetsMet: Bool { targets.allSatisfy(\.1) }

    /// The report as printed by `reflex bench autonomy`.
    package var text: String {
        let format = { (value: Double?, unit: String) in value.map { String(format: "%.1f%@", $0, unit) } ?? "–" }
        let kinds = injected.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key)" }
        var lines = [
            "",
            "faults injected:              \(faultCount) (\(kinds.joined(separator: ", ")))",
            "detected:                     \(detected)/\(faultCount) = \(String(format: "%.1f", detectedPercent)) %",
            "first detected by:            "
                + detectedBy.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "),
            "detection delay:              median \(format(delayMedian, " s")), p95 \(format(delayP95, " s")) (wall)",
            "mitigated before failure:     \(mitigated)/\(physical) physical faults = "
                + "\(String(format: "%.1f", mitigatedPercent)) % (\(failed) failed, \(unresolved) unresolved; "
                + "\(physicalOnOverride) more on overridden devices, left to the operator)",
            "false actions:                \(falseAlarms) alarms, \(falseCommands) commands on devices without an active fault"
                + " (\(commandsForSensorFaults) rule commands on devices with only a sensor or communication fault)",
            "detector signals, no fault:   \(signalsWithoutFault) anomaly (score ≥ threshold) or data-quality signals "
                + "on devices without an active fault (information only)",
            "interlock violations:         \(interlockViolations.count)",
            "overrides ignored:            \(overridesIgnored.count)",
            "decision latency:             p50 \(format(latencyP50.map { $0 / 1000 }, " ms")), "
                + "p99 \(format(latencyP99.map { $0 / 1000 }, " ms")) over \(latencyCount) rule commands "
                + "(automation has the batch → publish returned)",
        ]
        let stages: [(String, DecisionTimingSummary.Stage?)] = [
            ("ingest commit", timing.commit), ("bus hop", timing.bus), ("engine", timing.engine),
            ("publish", timing.publish), ("enqueue → publish", timing.total),
        ]
        lines.append(
            "where the time goes (p50/p99): "
                + stages.map { name, stage in
                    "\(name) \(format(stage.map { $0.p50 / 1000 }, "")) / \(format(stage.map { $0.p99 / 1000 }, " ms"))"
                }.joined(separator: "; ")
        )
        if !undetected.isEmpty {
            lines.append(
                "undetected:                   "
                    + undetected.map { "#\($0.id) \($0.kind) on \($0.device)\($0.metric.map { " (\($0))" } ?? "")" }
                    .joined(separator: ", ")
            )
        }
        for action in falseActions.prefix(20) {
            lines.append("  false action: \(action.kind.rawValue) \(action.label) on \(action.device)")
        }
        for violation in interlockViolations {
            lines.append(
                "  interlock violated: \(violation.name) \(violation.commandID) to \(violation.device) "
                    + "(\(violation.origin ?? "?")): \(violation.violatedInterlocks.joined(separator: ", "))"
            )
        }
        for ignored in overridesIgnored {
            lines.append(
                "  override ignored: \(ignored.name) \(ignored.commandID) to \(ignored.device) (\(ignored.origin ?? "?"))"
            )
        }
        lines.append("")
        lines.append("targets: " + targets.map { "\($0.1 ? "met" : "MISSED"): \($0.0)" }.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }
}
