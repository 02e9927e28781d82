public import ReflexCore

/// Every alarm's state machine, keyed by (device, type): raise, acknowledge, clear, shelve,
/// unshelve, notes, flapping detection.
///
/// Exactly one open alarm per (device, type): ``raise(device:type:severity:rule:message:at:)``
/// on an open alarm returns nil (the same episode), so concurrent triggers, serialized by the
/// engine's owner, cannot make two.
/// - Complexity: O(1) per operation on open alarms; cleared alarms are kept up to `retained`.
public struct AlarmBook: Sendable {
    /// Open alarms by key.
    public private(set) var open: [AlarmKey: Alarm] = [:]
    /// Recently cleared alarms, oldest first, bounded by `retained`.
    public private(set) var cleared: [Alarm] = []
    /// More than this many raises within ``flappingWindow`` marks an alarm as flapping.
    public var flappingThreshold = 4
    public var flappingWindow: Int64 = 600_000
    public var retained = 1000
    private var raiseTimes: [AlarmKey: [Int64]] = [:]
    private var nextNumber: Int

    public struct AlarmKey: Sendable, Hashable {
        public var device: DeviceID
        public var type: String

        public init(device: DeviceID, type: String) {
            self.device = device
            self.type = type
        }
    }

    /// - Parameter firstNumber: the number of the first new alarm id (after restored ones).
    public init(firstNumber: Int = 1) {
        nextNumber = firstNumber
    }

    /// Puts back an alarm loaded from storage.
    public mutating func restore(_ alarm: Alarm) {
        if alarm.isOpen {
            open[AlarmKey(device: alarm.device, type: alarm.type)] = alarm
        } else {
            cleared.append(alarm)
            if cleared.count > retained { cleared.removeFirst(cleared.count - retained) }
        }
        if let n = Int(alarm.id.drop(while: { !$0.isNumber })), n >= nextNumber { nextNumber = n + 1 }
    }

    /// The open alarm of `type` on `device`, if any.
    public func openAlarm(device: DeviceID, type: String) -> Alarm? {
        open[AlarmKey(device: device, type: type)]
    }

    /// An alarm by id, open or recently cleared.
    public func alarm(id: String) -> Alarm? {
        open.values.first { $0.id == id } ?? cleared.last { $0.id == id }
    }

    /// Raises a new alarm, or returns nil if one is already open for (device, type).
    public mutating func raise(
        device: DeviceID,
        type: String,
        severity: AlarmSeverity,
        rule: String?,
        message: String,
        at now: Int64
    ) -> Alarm? {
        let key = AlarmKey(device: device, type: type)
        guard open[key] == nil else { return nil }
        var times = (raiseTimes[key] ?? []).filter { now - $0 < flappingWindow }
        times.append(now)
        raiseTimes[key] = times
        let flapping = times.count > flappingThreshold
        var alarm = Alarm(
            id: "a\(nextNumber)",
            device: device,
            type: type,
            severity: severity,
            state: .active,
            shelvedUntil: nil,
            raisedAt: now,
            acknowledgedAt: nil,
            acknowledgedBy: nil,
            clearedAt: nil,
            rule: rule,
            message: message,
            flapping: flapping,
            notes: [],
            history: [
                AlarmHistoryEntry(at: now, state: "active", by: rule.map { "rule:\($0)" } ?? "system", detail: message)
            ]
        )
        if flapping {
            alarm.history.append(
                AlarmHistoryEntry(
                    at: now,
                    state: "flapping",
                    by: nil,
                    detail: "\(times.count) raises in \(DurationText.format(flappingWindow))"
                )
            )
        }
        nextNumber += 1
        open[key] = alarm
        return alarm
    }

    /// Clears the open alarm of (device, type), returning it, or nil if none is open.
    public mutating func clear(device: DeviceID, type: String, detail: String, at now: Int64) -> Alarm? {
        let key = AlarmKey(device: device, type: type)
        guard var alarm = open.removeValue(forKey: key) else { return nil }
        alarm.state = .cleared
        alarm.clearedAt = now
        alarm.history.append(AlarmHistoryEntry(at: now, state: "cleared", by: "system", detail: detail))
        cleared.append(alarm)
        if cleared.count > retained { cleared.removeFirst(cleared.count - retained) }
        return alarm
    }

    /// Applies an operator's change to an open alarm (or a note to any alarm).
    public mutating func update(
        id: String,
        at now: Int64,
        _ change: (inout Alarm) throws(AutomationError) -> Void
    ) throws(AutomationError) -> Alarm {
        if let key = open.first(where: { $0.value.id == id })?.key, var alarm = open[key] {
            try change(&alarm)
            open[key] = alarm
            return alarm
        }
        if let index = cleared.lastIndex(where: { $0.id == id }) {
            var alarm = cleared[index]
            try change(&alarm)
            cleared[index] = alarm
            return alarm
        }
        throw .notFound("no alarm '\(id)'")
    }

    /// Unshelves alarms whose shelving expired; returns them.
    public mutating func expireShelving(at now: Int64) -> [Alarm] {
        var changed: [Alarm] = []
        for (key, var alarm) in open {
            if let until = alarm.shelvedUntil, until <= now {
                alarm.shelvedUntil = nil
                alarm.history.append(
                    AlarmHistoryEntry(at: now, state: "unshelved", by: "system", detail: "shelving expired")
                )
                open[key] = alarm
                changed.append(alarm)
            }
        }
        return changed
    }

    /// Open alarms on a device.
    public func openAlarms(device: DeviceID) -> [Alarm] {
        open.values.filter { $0.device == device }
    }
}
