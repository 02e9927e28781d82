public import Foundation
import ReflexCore

/// Replays NAB-format data files through the live detector and writes NAB results files.
///
/// Each series gets a fresh `DefaultAnomalyDetector(settings:)` fed
/// `observe(value, at: timestampMillis)` row by row: the very code the live pipeline runs, so
/// the benchmark measures what users get.
public enum NABEvaluation {
    /// What one evaluation run did.
    public struct Summary: Sendable, Equatable {
        /// Files scored.
        public var files: Int
        /// Rows scored, over all files.
        public var rows: Int
        /// Rows scored at or above 0.5, the live "anomalous" threshold.
        public var alarms: Int
        /// Time spent reading, scoring and writing.
        public var elapsed: Duration
        /// False if the run was cancelled; the files counted here were written whole, the others
        /// not at all.
        public var isComplete = true
    }

    /// The anomaly score of every row of `series`, from a fresh default detector.
    ///
    /// - Complexity: O(rows).
    public static func scores(of series: NABSeries, settings: DetectorSettings) -> [Double] {
        var detector = DefaultAnomalyDetector(settings: settings)
        return series.rows.map { detector.observe($0.value, at: $0.timestampMillis).score }
    }

    /// ``scores(of:settings:)``, or nil if the calling task is cancelled before the end: a
    /// CPU-bound loop checks for cancellation itself.
    private static func cancellableScores(of series: NABSeries, settings: DetectorSettings) -> [Double]? {
        var detector = DefaultAnomalyDetector(settings: settings)
        var scores: [Double] = []
        scores.reserveCapacity(series.rows.count)
        for (index, row) in series.rows.enumerated() {
            if index % 1024 == 0 && Task.isCancelled { return nil }
            scores.append(detector.observe(row.value, at: row.timestampMillis).score)
        }
        return Task.isCancelled ? nil : scores
    }

    /// The relative paths of every `.csv` file under `root`, recursively, sorted.
    public static func dataFiles(under root: URL) throws -> [String] {
        let rootPath = root.standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(atPath: rootPath) else {
            throw NABFormatError(file: rootPath, line: 0, reason: "is not a readable directory")
        }
        var paths: [String] = []
        while let next = enumerator.nextObject() as? String {
            if next.hasSuffix(".csv") { paths.append(next) }
        }
        return paths.sorted()
    }

    /// Scores every NAB data file under `data` and writes `timestamp,value,anomaly_score` files
    /// at the same relative paths under `output`.
    ///
    /// Cancellation of the calling task stops it within 1,024 rows; the file being scored is then
    /// not written, and the summary (with `isComplete` false) counts the files written before.
    ///
    /// - Parameters:
    ///   - progress: called after each file with its relative path, row count and alarm count.
    /// - Throws: `NABFormatError` for a malformed data file (naming file and line), or the
    ///   file system's error when a file cannot be read or written.
    public static func run(
        data: URL,
        output: URL,
        settings: DetectorSettings = DetectorSettings(),
        progress: (_ file: String, _ rows: Int, _ alarms: Int) -> Void = { _, _, _ in }
    ) throws -> Summary {
        let clock = ContinuousClock()
        let start = clock.now
        var summary = Summary(files: 0, rows: 0, alarms: 0, elapsed: .zero)
        for relative in try dataFiles(under: data) {
            let text = try String(contentsOf: data.appendingPathComponent(relative), encoding: .utf8)
            let series = try NABSeries(csv: text, file: data.appendingPathComponent(relative).path)
            guard let scores = cancellableScores(of: series, settings: settings) else {
                summary.isComplete = false
                break
            }
            let destination = output.appendingPathComponent(relative)
            try FileManager.default.createDirectory(
                at: destination.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try series.resultsCSV(scores: scores).write(to: destination, atomically: true, encoding: .utf8)
            let alarms = scores.count { $0 >= 0.5 }
            summary.files += 1
            summary.rows += scores.count
            summary.alarms += alarms
            progress(relative, scores.count, alarms)
        }
        summary.elapsed = clock.now - start
        return summary
    }
}
