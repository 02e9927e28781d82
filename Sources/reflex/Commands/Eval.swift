import ArgumentParser
import Foundation
import ReflexAnalytics
import ReflexCore

/// `reflex eval ...`: replay public benchmark data through the detector code that runs live.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Replay benchmark data through the live detectors.",
        subcommands: [EvalNAB.self]
    )
}

/// `reflex eval nab`: score every NAB-format CSV under a directory with the default detector.
struct EvalNAB: ParsableCommand {
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
            """
    )

    @Option(help: "Directory of NAB data files (searched recursively).") var data: String
    @Option(help: "Directory to write the results files to.") var out: String
    @Option(help: "Detector sensitivity in [0, 1].") var sensitivity = 0.5
    @Flag(help: "Print the fixed threshold to score these results at (the live alarm threshold).")
    var thresholdHint = false

    func run() throws {
        let settings = DetectorSettings(sensitivity: sensitivity)
        let summary: NABEvaluation.Summary
        do {
            summary = try NABEvaluation.run(
                data: URL(fileURLWithPath: data),
                output: URL(fileURLWithPath: out),
                settings: settings
            ) { file, rows, alarms in
                print("\(file): \(rows) rows, \(alarms) scores >= 0.5")
            }
        } catch {
            throw fail(error)
        }
        guard summary.files > 0 else { throw fail("no .csv files under '\(data)'") }
        let seconds = Double(summary.elapsed.components.seconds) + Double(summary.elapsed.components.attoseconds) / 1e18
        print(
            "scored \(summary.files) files, \(summary.rows) rows in \(String(format: "%.2f", seconds)) s; "
                + "\(summary.alarms) scores >= 0.5; results in \(out)"
        )
        if thresholdHint {
            print("threshold: 0.5 (fixed in advance: the live \"anomalous\" threshold)")
        }
    }
}
