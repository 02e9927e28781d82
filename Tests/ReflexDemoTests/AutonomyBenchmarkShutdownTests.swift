import Foundation
import Logging
import ServiceLifecycleTestKit
import Testing

@testable import ReflexDemo
@testable import ReflexServer

/// `reflex bench autonomy` turns SIGINT and SIGTERM into a graceful shutdown of the group the
/// benchmark runs in; the benchmark must end on it with what it has (it used to run on forever).
@Suite struct AutonomyBenchmarkShutdownTests {
    private func configuration(announcing started: AsyncStream<Void>.Continuation) -> AutonomyBenchmark.Configuration {
        var configuration = AutonomyBenchmark.Configuration()
        configuration.devices = 2
        configuration.faults = 0
        configuration.overrides = 0
        configuration.duration = .seconds(600)
        configuration.progress = { line in
            if line.contains("fleet starting") { started.yield() }
        }
        return configuration
    }

    private func run(
        _ configuration: AutonomyBenchmark.Configuration,
        shutDownWhen ready: AsyncStream<Void>?
    ) async throws -> AutonomyBenchmark.Outcome {
        let benchmark = AutonomyBenchmark(configuration: configuration, logger: Logger(label: "test"))
        return try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: AutonomyBenchmark.Outcome.self) { group in
                group.addTask { try await benchmark.runUntilDone() }
                if let ready {
                    for await _ in ready { break }
                }
                trigger.triggerGracefulShutdown()
                return try #require(try await group.next())
            }
        }
    }

    @Test(
        "a graceful shutdown while the fleet runs ends the run early with a partial report",
        .timeLimit(.minutes(1))
    )
    func shutdownWhileRunning() async throws {
        let (started, announce) = AsyncStream.makeStream(of: Void.self)
        let outcome = try await run(configuration(announcing: announce), shutDownWhen: started)
        #expect(!outcome.isComplete)
        let report = try #require(outcome.report)
        #expect(report.faultCount == 0)
        #expect(outcome.elapsed < .seconds(60))
    }

    @Test(
        "a graceful shutdown requested before the run starts ends it at once, incomplete",
        .timeLimit(.minutes(1))
    )
    func shutdownAtTheStart() async throws {
        let (_, announce) = AsyncStream.makeStream(of: Void.self)
        let outcome = try await run(configuration(announcing: announce), shutDownWhen: nil)
        #expect(!outcome.isComplete)
        // Depending on when the node's group passes the shutdown on, the fleet may not have started.
        #expect(outcome.elapsed < .seconds(5))
        #expect((outcome.report?.faultCount ?? 0) == 0)
    }
}
