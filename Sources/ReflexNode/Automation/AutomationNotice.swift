public import ReflexAutomation

/// A change the automation layer made, for live feeds (the dashboard's SSE stream): published on
/// ``NodeEvents/automation`` after the engine decided it.
public enum AutomationNotice: Sendable {
    case alarm(Alarm)
    case command(Command)
    case audit(AuditEntry)
}
