import ReflexAutomation
public import ServiceLifecycle

/// Raises an automation alarm for every ``SeriesLimitBreach`` a ``SeriesGate`` reports: type
/// `series_limit.<limit>` (`seriesPerDevice`, `seriesPerNode`, `newSeriesPerMinute`, `newSeriesPerMinutePerNode`) on the device
/// whose samples were refused, severity warning, with the limit and the setting in its message.
///
/// The gate reports a (device, limit) at most once a minute and the alarm book keeps one open
/// alarm per (device, type), so a device hammering a limit makes one alarm until an operator
/// clears it. Runs in the node's group after automation; it ends with the group.
public struct SeriesLimitAlarmService: Service {
    let gate: SeriesGate
    let automation: AutomationService

    /// - Parameters:
    ///   - gate: the node's series gate.
    ///   - automation: where alarms are raised.
    public init(gate: SeriesGate, automation: AutomationService) {
        self.gate = gate
        self.automation = automation
    }

    /// Raises alarms until a graceful shutdown.
    public func run() async throws {
        for await breach in gate.breaches.cancelOnGracefulShutdown() {
            automation.raiseSystemAlarm(
                device: breach.device,
                type: breach.alarmType,
                severity: .warning,
                message: "samples of new series refused: \(breach.message)"
            )
        }
    }
}
