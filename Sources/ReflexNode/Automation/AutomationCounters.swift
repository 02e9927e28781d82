public import ReflexAutomation
import Synchronization

/// What automation decided and how its commands ended, counted as the changes are persisted
/// (in decision order), for `/metrics`. Counters only grow.
public final class AutomationCounters: Sendable {
    /// A snapshot of the counters.
    public struct Value: Sendable, Hashable {
        /// Audit entries by decision.
        public var decisions: [AuditDecision: Int] = [:]
        /// Commands that finished, by final state (`done` counts when no verification follows).
        public var finishedCommands: [CommandState: Int] = [:]
    }

    private let state = Mutex(Value())

    /// Zeroed counters.
    public init() {}

    /// The counters now.
    public var value: Value { state.withLock { $0 } }

    /// Counts the decisions and finished commands among `actions`.
    func record(_ actions: [AutomationAction]) {
        state.withLock { value in
            for action in actions {
                switch action {
                case .audit(let entry): value.decisions[entry.decision, default: 0] += 1
                case .command(let command) where command.isFinished:
                    value.finishedCommands[command.state, default: 0] += 1
                default: continue
                }
            }
        }
    }
}
