import Foundation
import ReflexCore

/// Measures the cost of the default detector: time per sample with many series interleaved (as
/// the live pipeline sees them), and memory per series.
public enum DetectorBenchmark {
    /// The result of one benchmark.
    public struct Result: Sendable {
        /// Nanoseconds per sample per series, one entry per repetition.
        public var nanosecondsPerSample: [Double]
        /// `memoryFootprint` of one detector after it has seen the whole series.
        public var bytesPerSeries: Int
        /// Size of one detector's JSON checkpoint (`JSONEncoder`, default options).
        public var checkpointBytes: Int
        /// False if the run was cancelled: `nanosecondsPerSample` then holds the repetitions that
        /// finished before it.
        public var isComplete = true

        /// The median of `nanosecondsPerSample`.
        public var medianNanosecondsPerSample: Double {
            let sorted = nanosecondsPerSample.sorted()
            guard !sorted.isEmpty else { return 0 }
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
    }

    /// Synthetic but realistic signals: a daily wave with noise, a slow trend, occasional spikes
    /// and level shifts, sampled every five minutes; deterministic for a given series index.
    ///
    /// - Returns: `samples` rows of `series` values each (row-major: all series at one instant).
    public static func signals(series: Int, samples: Int) -> [Double] {
        var values = [Double](repeating: 0, count: series * samples)
        for index in 0..<series {
            var random = SplitMix64(seed: UInt64(index) &+ 1)
            let amplitude = 1 + Double(index % 7)
            let baseline = 10 * Double(index % 13)
            var shift = 0.0
            for row in 0..<samples {
                let phase = Double(row % 288) / 288 * 2 * Double.pi
                var value = baseline + amplitude * sin(phase) + shift + 0.0001 * Double(row)
                value += 0.2 * amplitude * random.gaussian()
                if random.unit() < 0.001 { value += 8 * amplitude }
                if random.unit() < 0.0002 { shift += 3 * amplitude }
                values[row * series + index] = value
            }
        }
        return values
    }

    /// Runs `repetitions` passes of `samples` samples over `series` fresh detectors, interleaved.
    ///
    /// Cancellation of the calling task stops it within one row of samples (`series` observations);
    /// the result then has the repetitions that finished and `isComplete` false.
    ///
    /// - Parameters:
    ///   - progress: called after each repetition with its number (from 1) and its ns per sample.
    public static func run(
        series: Int,
        samples: Int,
        repetitions: Int,
        progress: (_ repetition: Int, _ nanosecondsPerSample: Double) -> Void = { _, _ in }
    ) throws -> Result {
        let series = max(1, series)
        let samples = max(1, samples)
        let values = signals(series: series, samples: samples)
        let start: Int64 = 1_764_000_000_000
        let clock = ContinuousClock()
        var timings: [Double] = []
        var last = DefaultAnomalyDetector()
        var checksum = 0.0
        var isComplete = true
        repetitions: for repetition in 1...max(1, repetitions) {
            var detectors = [DefaultAnomalyDetector](repeating: DefaultAnomalyDetector(), count: series)
            let began = clock.now
            for row in 0..<samples {
                // A CPU-bound loop: it notices cancellation (Ctrl-C in `reflex bench detect`) itself.
                if Task.isCancelled {
                    isComplete = false
                    break repetitions
                }
                let timestamp = start + Int64(row) * 300_000
                for index in 0..<series {
                    checksum += detectors[index].observe(values[row * series + index], at: timestamp).score
                }
            }
            let elapsed = clock.now - began
            let nanoseconds =
                Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            timings.append(nanoseconds / Double(series * samples))
            last = detectors[0]
            progress(repetition, timings[timings.count - 1])
        }
        // Keep the work observable so the optimiser cannot drop it.
        if checksum.isNaN { timings.append(0) }
        let checkpoint = try JSONEncoder().encode(last)
        return Result(
            nanosecondsPerSample: timings,
            bytesPerSeries: last.memoryFootprint,
            checkpointBytes: checkpoint.count,
            isComplete: isComplete
        )
    }
}
