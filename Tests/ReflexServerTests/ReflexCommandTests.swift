import Foundation
import Testing

/// Runs the built `reflex` executable (it sits next to the test bundle in `.build/<config>/`).
/// The time limit only guards against hangs: it also counts time spent waiting for a thread
/// while CPU-heavy tests (the fuzzers) run, so it is generous.
@Suite(.timeLimit(.minutes(10))) struct ReflexCommandTests {
    struct Run {
        var status: Int32
        var reason: Process.TerminationReason
        var standardOutput: String
        var standardError: String
    }

    private func executable() throws -> URL {
        let directory = try #require(Bundle.main.executableURL).deletingLastPathComponent()
        let url = directory.appendingPathComponent("reflex")
        try #require(FileManager.default.isExecutableFile(atPath: url.path), "build the reflex executable first")
        return url
    }

    /// Starts `reflex` with `arguments`; if `interruptAfter` is given, sends SIGINT once a
    /// standard-error line contains it.
    private func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        interruptAfter marker: String? = nil
    ) throws -> Run {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REFLEX_") }
            .merging(environment) { _, new in new }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        var errorData = Data()
        if let marker {
            while !String(decoding: errorData, as: UTF8.self).contains(marker) {
                let chunk = error.fileHandleForReading.availableData
                if chunk.isEmpty { break }  // the process ended before it got there
                errorData.append(chunk)
            }
            process.interrupt()
        }
        errorData.append(error.fileHandleForReading.readDataToEndOfFile())
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus,
            reason: process.terminationReason,
            standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self)
        )
    }

    @Test("a configuration error prints one message and exits with status 2") func configurationError() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let result = try run(["serve", "--max-packet-size", "big"], environment: ["REFLEX_DATA_DIR": directory])
            #expect(result.reason == .exit)
            #expect(result.status == 2)
            #expect(
                result.standardError
                    == "reflex: configuration error: mqtt.maxPacketSize from flag --max-packet-size: expected a whole "
                    + "number of bytes between 64 and 268435455, got 'big'; units KiB, MiB are accepted\n"
            )
            #expect(result.standardOutput.isEmpty)
        }
    }

    @Test("SIGINT shuts a running node down gracefully with status 0") func interrupt() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let result = try run(
                ["serve", "--mqtt-listen", "127.0.0.1:0", "--data-dir", directory, "--log-level", "debug"],
                // ServiceGroup logs "Starting service" (not "... lifecycle") once it traps signals.
                interruptAfter: "Starting service\n"
            )
            #expect(result.reason == .exit)
            #expect(result.status == 0)
            #expect(result.standardError.contains("Signal caught. Shutting down the group."))
            #expect(result.standardError.contains("Reflex node stopped"))
        }
    }

    @Test("reflex version names the version, the Swift version and the platform") func version() throws {
        let result = try run(["version"])
        #expect(result.status == 0)
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("reflex 0.") == true)
        #expect(lines.dropFirst().first?.hasPrefix("Swift 6.") == true)
        #expect(lines.last?.hasPrefix("Platform ") == true)
    }

    @Test("reflex alone prints help and succeeds") func help() throws {
        let result = try run([])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("USAGE: reflex <subcommand>"))
        #expect(result.standardOutput.contains("serve"))
    }
}
