import ArgumentParser
import Foundation
import Logging
import ReflexAnalytics
import ReflexCore
import ServiceLifecycle

/// `reflex eval ...`: replay public benchmark data through the detector code that runs live.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Replay benchmark data through the live detectors.",
        subcommands: [EvalNAB.self]
    )
}

/// `reflex eval nab`: score every NAB-format CSV under a directory with the default detector.
struct EvalNAB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nab",
        abstract: "Score NAB-format CSV files (timestamp,value) with the default detector.",
        discussion: """
            Every .csv under --data (recursively) is fed row by row to a fresh \
            DefaultAnomalyDetector(settings:) — the code the live pipeline runs — and a results \
            file with columns timestamp,value,anomaly_score is written at the same relative path \
            under --out. Score it with the NAB scorer, e.g.:
              python3 ../shared/tools/nab_score.py --data DATA --labels combined_windows.json \\
                --results OUT --profile all --threshold 0.5

            Ctrl-C (SIGINT) or SIGTERM stops it within 1,024 rows: the file being scored is not \
            written, every results file already written is whole, a line says how far it got, \
            and the exit status is 130 (SIGINT) or 143 (SIGTERM).
            """
    )

    @Option(help: "Directory of NAB data files (searched recursively).") var data: String
    @Option(help: "Directory to write the results files to.") var out: String
    @Option(help: "Detector sensitivity in [0, 1].") var sensitivity = 0.5
    @Flag(help: "Print the fixed threshold to score these results at (the live alarm threshold).")
    var thresholdHint = false

    func run() async throws {
        let trap = await StopSignalTrap.install()
        let settings = DetectorSettings(sensitivity: sensitivity)
        let (data, out) = (URL(fileURLWithPath: data), URL(fileURLWithPath: out))
        let result = Handoff<Result<NABEvaluation.Summary, any Error>>()
        let signal = try await trap.run(
            [
                .init(
                    service: ClosureService {
                        // It checks for cancellation itself, on a thread of its own (see CPUBoundExecutor);
                        // a graceful shutdown cancels it.
                        let outcome = await cancelWhenGracefulShutdown {
                            await CPUBoundExecutor.run {
                                Result {
                                    try NABEvaluation.run(data: data, output: out, settings: settings) {
                                        printNow("\($0): \($1) rows, \($2) scores >= 0.5")
                                    }
                                }
                            }
                        }
                        result.set(outcome)
                    },
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    serviceName: "eval-nab"
                )
            ],
            logger: Logger(label: "reflex.eval")
        )
        guard let outcome = result.value else {
            throw signal?.exitCode ?? fail("the evaluation ended without a result")
        }
        let summary: NABEvaluation.Summary
        do {
            summary = try outcome.get()
        } catch {
            throw fail(error)
        }
        if let signal, !summary.isComplete {
            printNow(
                "INTERRUPTED by \(signal.name) after \(summary.files) files, \(summary.rows) rows; "
                    + "the results files in \(self.out) are whole, the rest were not written"
            )
            throw signal.exitCode
        }
        guard summary.files > 0 else { throw fail("no .csv files under '\(self.data)'") }
        let seconds = Double(summary.elapsed.components.seconds) + Double(summary.elapsed.components.attoseconds) / 1e18
        printNow(
            "scored \(summary.files) files, \(summary.rows) rows in \(String(format: "%.2f", seconds)) s; "
                + "\(summary.alarms) scores >= 0.5; results in \(self.out)"
        )
        if thresholdHint {
            printNow("threshold: 0.5 (fixed in advance: the live \"anomalous\" threshold)")
        }
    }
}
