/// Rules, expressions, alarms, commands and the safety layer (interlocks, override, fail-safe,
/// audit) that turn telemetry and analytics events into safe, explainable actions.
///
/// Pure decision logic: no sockets, files or clocks of its own; storage and delivery are ports
/// that `ReflexServer` implements.
public enum ReflexAutomation {}
