import ArgumentParser
import Foundation
import Logging
import ReflexAnalytics
import ServiceLifecycle

/// `reflex bench detect`: time per sample and memory per series of the default detector.
struct BenchDetect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Measure ns per sample and bytes per series of the default anomaly detector.",
        discussion: """
            Feeds --series detectors interleaved (one sample of each series per instant, as the \
            live pipeline does) with --samples samples of synthetic 5-minute telemetry (daily \
            wave, noise, spikes, level shifts), --repetitions times, and prints every repetition \
            and the median. Build with -c release for meaningful numbers.

            Ctrl-C (SIGINT) or SIGTERM stops it within one row of samples: it prints the \
            repetitions measured so far and their median under a line saying it was interrupted, \
            and exits with status 130 (SIGINT) or 143 (SIGTERM).
            """
    )

    @Option(help: "Number of series, each with its own detector.") var series = 1000
    @Option(help: "Samples per series.") var samples = 5000
    @Option(help: "Repetitions; the median is reported.") var repetitions = 5

    func run() async throws {
        let trap = await StopSignalTrap.install()
        guard series > 0, samples > 0, repetitions > 0 else {
            throw fail("--series, --samples and --repetitions must be positive")
        }
        #if DEBUG
        printNow("warning: debug build; use `swift build -c release` for representative timings")
        #endif
        printNow("default detector, \(series) series x \(samples) samples, \(repetitions) repetitions")
        let (series, samples, repetitions) = (series, samples, repetitions)
        let result = Handoff<Result<DetectorBenchmark.Result, any Error>>()
        let signal = try await trap.run(
            [
                .init(
                    service: ClosureService {
                        // It checks for cancellation itself, on a thread of its own (see CPUBoundExecutor);
                        // a graceful shutdown cancels it.
                        let outcome = await cancelWhenGracefulShutdown {
                            await CPUBoundExecutor.run {
                                Result {
                                    try DetectorBenchmark.run(
                                        series: series,
                                        samples: samples,
                                        repetitions: repetitions
                                    ) {
                                        printNow(
                                            "repetition \($0): \(String(format: "%.1f", $1)) ns per sample per series"
                                        )
                                    }
                                }
                            }
                        }
                        result.set(outcome)
                    },
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    serviceName: "bench-detect"
                )
            ],
            logger: Logger(label: "reflex.bench")
        )
        guard let outcome = result.value else {
            throw signal?.exitCode ?? fail("the benchmark ended without a result")
        }
        let measured: DetectorBenchmark.Result
        do {
            measured = try outcome.get()
        } catch {
            throw fail(error)
        }
        let runs = measured.nanosecondsPerSample.map { String(format: "%.1f", $0) }.joined(separator: ", ")
        let median = String(format: "%.1f", measured.medianNanosecondsPerSample)
        if let signal, !measured.isComplete {
            printNow(
                "INTERRUPTED by \(signal.name) after \(measured.nanosecondsPerSample.count) of \(repetitions) "
                    + "repetitions"
            )
            if !measured.nanosecondsPerSample.isEmpty {
                printNow("ns per sample per series: median \(median) (\(runs))")
            }
            throw signal.exitCode
        }
        printNow("ns per sample per series: median \(median) (\(runs))")
        printNow("bytes per series in memory: \(measured.bytesPerSeries)")
        printNow("bytes per JSON checkpoint: \(measured.checkpointBytes)")
    }
}
