import ArgumentParser
import Foundation
import ReflexAnalytics

/// `reflex bench detect`: time per sample and memory per series of the default detector.
struct BenchDetect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Measure ns per sample and bytes per series of the default anomaly detector.",
        discussion: """
            Feeds --series detectors interleaved (one sample of each series per instant, as the \
            live pipeline does) with --samples samples of synthetic 5-minute telemetry (daily \
            wave, noise, spikes, level shifts), --repetitions times, and prints every repetition \
            and the median. Build with -c release for meaningful numbers.
            """
    )

    @Option(help: "Number of series, each with its own detector.") var series = 1000
    @Option(help: "Samples per series.") var samples = 5000
    @Option(help: "Repetitions; the median is reported.") var repetitions = 5

    func run() throws {
        guard series > 0, samples > 0, repetitions > 0 else {
            throw fail("--series, --samples and --repetitions must be positive")
        }
        let result: DetectorBenchmark.Result
        do {
            result = try DetectorBenchmark.run(series: series, samples: samples, repetitions: repetitions)
        } catch {
            throw fail(error)
        }
        #if DEBUG
        print("warning: debug build; use `swift build -c release` for representative timings")
        #endif
        let runs = result.nanosecondsPerSample.map { String(format: "%.1f", $0) }.joined(separator: ", ")
        print("default detector, \(series) series x \(samples) samples, \(repetitions) repetitions")
        print("ns per sample per series: median \(String(format: "%.1f", result.medianNanosecondsPerSample)) (\(runs))")
        print("bytes per series in memory: \(result.bytesPerSeries)")
        print("bytes per JSON checkpoint: \(result.checkpointBytes)")
    }
}
