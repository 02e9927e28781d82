import Foundation
import InMemoryLogging
import Logging
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexStore
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite struct NodeTests {
    /// Runs a node on a free port in `directory` until a graceful shutdown; returns its logs and
    /// what it announced on standard output.
    private func runNode(
        in directory: String,
        allowAnonymous: Bool = false
    ) async throws -> (
        logs: InMemoryLogHandler, announced: [String]
    ) {
        var configuration = NodeConfiguration()
        configuration.dataDirectory = directory
        configuration.mqtt.tcp = .init(host: "127.0.0.1", port: 0)
        configuration.http.listen = .init(host: "127.0.0.1", port: 0)
        configuration.allowAnonymous = allowAnonymous
        let logs = InMemoryLogHandler()
        let announced = Mutex<[String]>([])
        let node = Node(
            configuration: configuration,
            logger: Logger(label: "reflex", factory: { _ in logs }),
            announceAdminToken: { text in announced.withLock { $0.append(text) } }
        )
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup { group in
                group.addTask { try await node.run() }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        return (logs, announced.withLock { $0 })
    }

    @Test(
        "the node starts with device authentication, and returns on graceful shutdown",
        .timeLimit(.minutes(10))
    )
    func gracefulShutdown() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let (logs, _) = try await runNode(in: directory)
            let messages = logs.entries.map { "\($0.level) \($0.message)" }
            #expect(messages.first == "info Starting Reflex node")
            #expect(
                messages.contains(
                    "info MQTT clients authenticate with a device id and token, or an admin operator token"
                )
            )
            #expect(!messages.contains { $0.hasPrefix("warning") })
            #expect(messages.last == "info Reflex node stopped")
            let start = try #require(logs.entries.first)
            #expect(start.metadata["mqtt.listen"] == "127.0.0.1:0")
            #expect(start.metadata["mqtt.tlsListen"] == "off")
            #expect(
                start.metadata["node.dataDirectory"] == "\(URL(fileURLWithPath: directory).standardizedFileURL.path)"
            )
            #expect(FileManager.default.fileExists(atPath: "\(directory)/registry.sqlite"))
        }
    }

    @Test("anonymous access is announced with a warning", .timeLimit(.minutes(10))) func anonymousWarning() async throws
    {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let (logs, _) = try await runNode(in: directory, allowAnonymous: true)
            let warnings = logs.entries.filter { $0.level == .warning }.map(\.message.description)
            #expect(warnings.count == 1)
            #expect(warnings.first?.hasPrefix("ANONYMOUS MQTT ACCESS IS ON") == true)
        }
    }

    @Test("the first start prints a new admin token once; later starts do not", .timeLimit(.minutes(10)))
    func initialAdminToken() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            let first = try await runNode(in: directory)
            #expect(first.announced.count == 1)
            let text = try #require(first.announced.first)
            #expect(text.contains("Store it now; it cannot be shown again"))
            let token = try #require(
                text.split(whereSeparator: \.isWhitespace).map(String.init).first { $0.hasPrefix("rfx_op_") }
            )
            let registry = try SQLiteDeviceRegistry(dataDirectory: directory)
            #expect(try await registry.verifyOperatorToken(token)?.role == .admin)
            let logged = first.logs.entries.map { "\($0.message) \($0.metadata)" }.joined()
            #expect(!logged.contains(token))

            let second = try await runNode(in: directory)
            #expect(second.announced.isEmpty)
        }
    }

}
