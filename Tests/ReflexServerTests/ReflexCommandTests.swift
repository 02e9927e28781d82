import Foundation
import ReflexCore
import ReflexStore
import Testing

@testable import ReflexNode

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

    // MARK: - device and token commands

    private func findToken(in output: String, prefix: String) -> String? {
        output.split(whereSeparator: \.isWhitespace).map(String.init).first { $0.hasPrefix(prefix) }
    }

    @Test("device add prints the token once; list, show, disable, enable and rotate-token work")
    func deviceCommands() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let env = ["REFLEX_DATA_DIR": directory]
            let added = try run(
                ["device", "add", "pump-7", "--type", "pump", "--label", "site=plant-1"],
                environment: env
            )
            #expect(added.status == 0, "\(added.standardError)")
            #expect(added.standardOutput.contains("store it now; it cannot be shown again"))
            let token = try #require(findToken(in: added.standardOutput, prefix: "rfx_dev_"))
            _ = try run(["device", "add", "fan-1", "--data-dir", directory])

            let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
            let id = try DeviceID(validating: "pump-7")
            #expect(try await registry.authenticate(device: id, token: token)?.labels == ["site": "plant-1"])

            let list = try run(["device", "list", "--type", "pump"], environment: env)
            let lines = list.standardOutput.split(separator: "\n")
            #expect(lines.count == 2)
            #expect(lines.first?.hasPrefix("ID ") == true)
            #expect(lines.last?.hasPrefix("pump-7  pump-7  pump  yes      site=plant-1") == true)
            #expect(!list.standardOutput.contains(token))
            let json = try run(["device", "list", "--label", "site=plant-1", "--json"], environment: env)
            let decoded = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]]
            #expect(decoded?.map { $0["id"] as? String } == ["pump-7"])

            let show = try run(["device", "show", "pump-7"], environment: env)
            #expect(show.standardOutput.contains("enabled:       yes"))
            #expect(try run(["device", "disable", "pump-7"], environment: env).status == 0)
            #expect(
                try run(["device", "show", "pump-7"], environment: env).standardOutput.contains("enabled:       no")
            )
            #expect(try run(["device", "enable", "pump-7"], environment: env).status == 0)

            let rotated = try run(["device", "rotate-token", "pump-7"], environment: env)
            let newToken = try #require(findToken(in: rotated.standardOutput, prefix: "rfx_dev_"))
            #expect(newToken != token)
            #expect(try await registry.authenticate(device: id, token: newToken) != nil)
            #expect(try await registry.authenticate(device: id, token: token) == nil)
        }
    }

    @Test("device commands explain errors: duplicate, unknown, invalid id") func deviceCommandErrors() throws {
        try withTemporaryDirectory { (directory: String) throws in
            let env = ["REFLEX_DATA_DIR": directory]
            _ = try run(["device", "add", "pump-7"], environment: env)
            let duplicate = try run(["device", "add", "pump-7"], environment: env)
            #expect(duplicate.status == 1)
            #expect(duplicate.standardError.hasPrefix("reflex: device 'pump-7' is already registered in "))
            let unknown = try run(["device", "disable", "ghost"], environment: env)
            #expect(unknown.status == 1)
            #expect(unknown.standardError.contains("no device 'ghost'"))
            let invalid = try run(["device", "add", "a/b"], environment: env)
            #expect(invalid.status == 64)
            #expect(invalid.standardError.contains("device id 'a/b' has a character not allowed at byte 1"))
        }
    }

    @Test("token create, list and revoke") func tokenCommands() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let env = ["REFLEX_DATA_DIR": directory]
            let created = try run(["token", "create", "--role", "viewer", "--name", "grafana"], environment: env)
            #expect(created.status == 0)
            #expect(created.standardOutput.contains("Store it now; it cannot be shown again"))
            let secret = try #require(findToken(in: created.standardOutput, prefix: "rfx_op_"))
            let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
            #expect(try await registry.verifyOperatorToken(secret)?.role == .viewer)

            let list = try run(["token", "list"], environment: env)
            #expect(list.standardOutput.contains("grafana"))
            #expect(!list.standardOutput.contains(secret))
            #expect(try run(["token", "revoke", "1"], environment: env).status == 0)
            #expect(try await registry.verifyOperatorToken(secret) == nil)
            #expect(try run(["token", "list"], environment: env).standardOutput.contains("revoked"))

            let badRole = try run(["token", "create", "--role", "root", "--name", "x"], environment: env)
            #expect(badRole.status == 64)
            #expect(badRole.standardError.contains("--role 'root' is not a role; use viewer, operator or admin"))
        }
    }
}
