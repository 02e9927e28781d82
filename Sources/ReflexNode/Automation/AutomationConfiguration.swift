public import ReflexAutomation

/// Rules, alarms, commands and the safety layer.
///
/// Keys (YAML, environment, flag; default):
/// - `automation.rulesDirectory`, `REFLEX_RULES_DIR`, `--rules-dir`; `<dataDirectory>/rules`.
///   Every `*.yaml`/`*.yml` file there is loaded and reloaded when it changes (polled every 2 s).
///   Fail-safe policies per device type are `failsafe:` documents in the same files.
/// - `automation.webhookTimeout` (file only): how long a webhook POST may take; 5 s.
/// - `automation.ackTimeout` (file only): how long to wait for a device's command ack before
///   resending (doubling per attempt, 3 attempts); 10 s.
public struct AutomationConfiguration: Sendable, Equatable {
    /// The rules directory; nil: `<dataDirectory>/rules`.
    public var rulesDirectory: String?
    /// How long a webhook POST may take.
    public var webhookTimeout: Duration = .seconds(5)
    /// How long to wait for an ack before resending.
    public var ackTimeout: Duration = .seconds(10)
    /// Sends before a command fails.
    public var maxAttempts = 3
    /// How often the engine's clock ticks (timeouts, `for` durations, staleness).
    public var tickInterval: Duration = .milliseconds(500)
    /// How often the rules directory is checked for changes.
    public var rulesPollInterval: Duration = .seconds(2)
    /// How long the audit log, cleared alarms and finished commands are kept (90 days).
    public var retention: Duration = .seconds(90 * 86_400)
    /// Rule files built into the node, by file label (e.g. `"demo/default.yaml"` → YAML text),
    /// loaded at start like files of the rules directory (`reflex serve --demo` uses this).
    public var builtInRules: [String: String] = [:]
    /// Safe states per device type in addition to the `failsafe:` documents of the rules directory.
    public var failSafes: [FailSafePolicy] = []

    /// The defaults.
    public init() {}

    /// The rules directory for a data directory.
    public func rulesDirectory(dataDirectory: String) -> String {
        rulesDirectory ?? (dataDirectory.hasSuffix("/") ? dataDirectory + "rules" : dataDirectory + "/rules")
    }
}
