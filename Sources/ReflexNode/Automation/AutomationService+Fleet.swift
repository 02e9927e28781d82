import ReflexAutomation
public import ReflexCore
import Synchronization

/// The automation layer's view of each device for the dashboard's fleet overview.
extension AutomationService: FleetAutomationProvider {
    /// Open alarms of `device` that are not shelved, by severity.
    public func alarmCounts(of device: DeviceID) async -> AlarmCounts {
        let now = self.now()
        return engine.withLock { engine in
            var counts = AlarmCounts.zero
            for alarm in engine.alarms.open.values where alarm.device == device && !alarm.isShelved(at: now) {
                switch alarm.severity {
                case .critical: counts.critical += 1
                case .major: counts.major += 1
                case .minor: counts.minor += 1
                case .warning: counts.warning += 1
                }
            }
            return counts
        }
    }

    /// Manual while an operator override holds, fail-safe while the safe state is applied,
    /// automatic otherwise.
    public func autonomyMode(of device: DeviceID) async -> AutonomyMode {
        let now = self.now()
        return engine.withLock { engine in
            if engine.override(of: device, at: now) != nil { return .manual }
            if engine.failSafeState(of: device).active { return .failSafe }
            return .auto
        }
    }

    /// The global autonomy switch.
    public func autonomyEnabled() async -> Bool? {
        engine.withLock { $0.autonomy.enabled }
    }
}
