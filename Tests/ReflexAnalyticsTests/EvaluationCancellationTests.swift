import Foundation
import ReflexAnalytics
import Testing

/// The CPU-bound evaluation loops notice the cancellation of their task (Ctrl-C in `reflex eval
/// nab` and `reflex bench detect`) and stop with what is whole.
@Suite struct EvaluationCancellationTests {
    private func nabData(files: Int) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nab-cancel-\(UUID().uuidString)")
        let data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var text = "timestamp,value\n"
        for row in 0..<200 {
            text += String(format: "2014-04-01 %02d:%02d:00,%d\n", row / 60, row % 60, row % 17)
        }
        for file in 0..<files {
            try text.write(to: data.appendingPathComponent("f\(file).csv"), atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test("NAB evaluation cancelled after the first file writes that file whole and no other")
    func nabStopsBetweenFiles() async throws {
        let root = try nabData(files: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        let output = root.appendingPathComponent("out")
        let summary = try await Task {
            try NABEvaluation.run(data: root.appendingPathComponent("data"), output: output) { _, _, _ in
                withUnsafeCurrentTask { $0?.cancel() }
            }
        }.value
        #expect(!summary.isComplete)
        #expect(summary.files == 1)
        #expect(summary.rows == 200)
        let written = try FileManager.default.contentsOfDirectory(atPath: output.path)
        #expect(written == ["f0.csv"])
        let lines = try String(contentsOf: output.appendingPathComponent("f0.csv"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 201)
    }

    @Test("NAB evaluation in a cancelled task scores nothing and writes nothing")
    func nabCancelledBeforeStart() async throws {
        let root = try nabData(files: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let output = root.appendingPathComponent("out")
        let summary = try await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try NABEvaluation.run(data: root.appendingPathComponent("data"), output: output)
        }.value
        #expect(!summary.isComplete)
        #expect(summary.files == 0)
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("an uncancelled NAB evaluation is complete")
    func nabComplete() throws {
        let root = try nabData(files: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let summary = try NABEvaluation.run(
            data: root.appendingPathComponent("data"),
            output: root.appendingPathComponent("out")
        )
        #expect(summary.isComplete)
        #expect(summary.files == 2)
    }

    @Test("the detector benchmark cancelled after one repetition returns that repetition")
    func detectorBenchmarkStops() async throws {
        let result = try await Task {
            try DetectorBenchmark.run(series: 4, samples: 100, repetitions: 50) { _, _ in
                withUnsafeCurrentTask { $0?.cancel() }
            }
        }.value
        #expect(!result.isComplete)
        #expect(result.nanosecondsPerSample.count == 1)
    }

    @Test("the detector benchmark runs every repetition unless cancelled")
    func detectorBenchmarkCompletes() throws {
        var reported: [Int] = []
        let result = try DetectorBenchmark.run(series: 4, samples: 100, repetitions: 3) { repetition, _ in
            reported.append(repetition)
        }
        #expect(result.isComplete)
        #expect(result.nanosecondsPerSample.count == 3)
        #expect(reported == [1, 2, 3])
    }
}
