import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGINT (Ctrl-C) or SIGTERM: a request to stop a long-running command early.
///
/// `reflex serve` stops on them through its node's own service group and exits 0 (documented in its
/// help). `simulate`, `bench ...` and `eval ...` trap both with ``StopSignalTrap`` before any work
/// starts, stop gracefully, say what they have, and exit with ``exitCode``.
enum StopSignal: Sendable, Equatable {
    case interrupt
    case terminate

    init?(_ signal: UnixSignal) {
        switch signal {
        case .sigint: self = .interrupt
        case .sigterm: self = .terminate
        default: return nil
        }
    }

    /// `SIGINT` or `SIGTERM`.
    var name: String { self == .interrupt ? "SIGINT" : "SIGTERM" }

    /// 130 or 143: 128 plus the signal's number, the status a shell reports for a command that the
    /// signal ended, so scripts and `timeout` see what happened.
    var exitCode: ExitCode { ExitCode(self == .interrupt ? 130 : 143) }
}

/// Traps SIGINT and SIGTERM from its installation on (their default action, ending the process on
/// the spot, no longer applies) and turns the first one into a graceful shutdown of the services run
/// with ``run(_:logger:)``; a second one cancels them.
///
/// Install it first thing in a command's `run()`, so that a signal during setup is not lost: it is
/// kept and stops the services as soon as they start.
struct StopSignalTrap: Sendable {
    private let signals: UnixSignalsSequence

    private init(signals: UnixSignalsSequence) {
        self.signals = signals
    }

    /// Starts trapping SIGINT and SIGTERM.
    static func install() async -> StopSignalTrap {
        StopSignalTrap(signals: await UnixSignalsSequence(trapping: .sigint, .sigterm))
    }

    /// Runs `services` in one `ServiceGroup` (started in order, shut down in reverse) until they
    /// finish, or until the first SIGINT/SIGTERM shuts the group down gracefully. Call it once.
    ///
    /// - Returns: the signal that stopped the services, or nil if they finished by themselves.
    /// - Throws: what the group throws when a service fails.
    func run(
        _ services: [ServiceGroupConfiguration.ServiceConfiguration],
        logger: Logger
    ) async throws -> StopSignal? {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        let received = ReceivedSignal()
        let signals = self.signals
        try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                try await group.run()
                return true
            }
            tasks.addTask {
                var iterator = signals.makeAsyncIterator()
                guard let first = await iterator.next() else { return false }
                let signal = StopSignal(first) ?? .terminate
                received.set(signal)
                FileHandle.standardError.write(
                    Data("reflex: \(signal.name): stopping (send it again to stop at once)\n".utf8)
                )
                await group.triggerGracefulShutdown()
                // A second signal cancels the group instead of waiting for the graceful end.
                return await iterator.next() == nil
            }
            // The group's end (or its error) or a second signal, whichever comes first; the other
            // task is cancelled, and the group's cancellation errors after a second signal are
            // discarded with it.
            _ = try await tasks.next()
            tasks.cancelAll()
        }
        return received.value
    }
}

/// The first stop signal, set by the signal task and read after the group has ended.
private final class ReceivedSignal: Sendable {
    private let signal = Mutex<StopSignal?>(nil)

    var value: StopSignal? { signal.withLock { $0 } }

    func set(_ value: StopSignal) { signal.withLock { $0 = value } }
}

/// A value handed from a service to the command after its group has ended.
final class Handoff<Value: Sendable>: Sendable {
    private let stored = Mutex<Value?>(nil)

    var value: Value? { stored.withLock { $0 } }

    func set(_ value: Value) { stored.withLock { $0 = value } }
}

/// Prints `line` and a newline to standard output at once (unbuffered, also into a file or a
/// pipe), so that the progress of a long-running command is there to see, and to wait for, as it
/// goes, and nothing it printed before a signal is left in a buffer.
func printNow(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
