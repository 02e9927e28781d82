import ArgumentParser
import Foundation
import Logging
import ReflexDemo
import ReflexServer
import ServiceLifecycle

/// `reflex bench autonomy`: the closed loop, measured on a simulated fleet through a real node.
struct BenchAutonomy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autonomy",
        abstract: "Run a node and a simulated fleet with seeded faults; report detection, mitigation and safety.",
        discussion: """
            Starts a real node (temporary data directory, the embedded broker on loopback TCP, \
            automation with the demo rules, detection if the node has it) and the simulator's \
            devices as MQTT clients with registered tokens; injects the seeded faults; puts a few \
            faulty devices in manual override through the HTTP API; and watches, independently of \
            the engine, every command that reaches a device. Prints progress every 10 s, then: \
            faults injected by kind, detected (%), median and p95 detection delay, mitigated \
            before failure (%), false actions, interlock violations, overrides ignored, and the \
            telemetry-to-command decision latency p50/p99.

            --speed accelerates the simulator's physics and fault schedule only; rule durations, \
            windows, cooldowns, command time-outs and staleness stay wall-clock time. \
            Definitions: docs/autonomy.md.

            Exit status 1 if a target is missed (>= 95 % detected, >= 80 % mitigated, 0 interlock \
            violations, 0 overrides ignored, p99 decision latency < 5 ms), unless --no-fail.

            Ctrl-C (SIGINT) or SIGTERM stops the run early and gracefully: the fleet disconnects, \
            the node stops, the report over what was observed so far is printed under a line \
            saying it was interrupted (targets not judged), the temporary data directory is \
            removed, and the exit status is 130 (SIGINT) or 143 (SIGTERM). A second signal stops \
            at once.

            Example:
              reflex bench autonomy --devices 50 --duration 10m --faults 40 --seed 7 --speed 4
            """
    )

    @Option(help: "Simulated devices.")
    var devices: Int = 50

    @Option(help: ArgumentHelp("Wall time over which the faults start.", valueName: "duration"))
    var duration: String = "10m"

    @Option(help: "Faults on the seeded schedule.")
    var faults: Int = 40

    @Option(help: "Seed of the schedule and the simulator's noise.")
    var seed: UInt64 = 1

    @Option(help: "Simulated seconds per wall second (physics and fault schedule only).")
    var speed: Double = 1

    @Option(help: "Devices with a physical fault put in manual override for the whole run.")
    var overrides: Int = 2

    @Flag(name: .customLong("no-fail"), help: "Exit 0 even when a target is missed.")
    var noFail = false

    func validate() throws {
        guard devices > 0 else { throw ValidationError("--devices must be at least 1") }
        guard faults >= 0 else { throw ValidationError("--faults must be 0 or more") }
        guard speed > 0, speed <= 100, speed.isFinite else {
            throw ValidationError("--speed must be above 0 and at most 100")
        }
        guard overrides >= 0 else { throw ValidationError("--overrides must be 0 or more") }
        _ = try parseSimulatorDuration(duration, option: "--duration")
    }

    func run() async throws {
        // First, so that a signal during setup stops the run instead of ending the process on the spot.
        let trap = await StopSignalTrap.install()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        var configuration = AutonomyBenchmark.Configuration()
        configuration.devices = devices
        configuration.duration = try parseSimulatorDuration(duration, option: "--duration")
        configuration.faults = faults
        configuration.seed = seed
        configuration.speed = speed
        configuration.overrides = overrides
        // Unbuffered, so progress lines appear as they come, also in a file.
        configuration.progress = { printNow($0) }
        let logger = Logger(label: "reflex.bench")
        let benchmark = AutonomyBenchmark(configuration: configuration, logger: logger)
        let result = Handoff<AutonomyBenchmark.Outcome>()
        let signal = try await trap.run(
            [
                .init(
                    service: ClosureService { result.set(try await benchmark.runUntilDone()) },
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    serviceName: "bench-autonomy"
                )
            ],
            logger: logger
        )
        guard let outcome = result.value else {
            if let signal { throw signal.exitCode }
            throw fail("the benchmark ended without a result")
        }
        if let signal, !outcome.isComplete {
            let seconds = Int(seconds(outcome.elapsed))
            guard let report = outcome.report else {
                printNow("bench autonomy: interrupted by \(signal.name) before the fleet started; nothing measured")
                throw signal.exitCode
            }
            printNow(
                "bench autonomy: INTERRUPTED by \(signal.name) after \(seconds) s; partial results, targets not judged"
            )
            printNow(
                report.text.split(separator: "\n", omittingEmptySubsequences: false).filter {
                    !$0.hasPrefix("targets:")
                }
                .joined(separator: "\n")
            )
            throw signal.exitCode
        }
        guard let report = outcome.report else { throw fail("the benchmark ended without a report") }
        printNow(report.text)
        if !noFail && !report.targetsMet { throw ExitCode(1) }
    }
}
