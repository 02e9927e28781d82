import Foundation
import InMemoryLogging
import Logging
import ReflexMQTT
import ReflexServer
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite struct NodeTests {
    @Test(
        "the node starts, warns that authentication is off, and returns on graceful shutdown",
        .timeLimit(.minutes(10))
    )
    func gracefulShutdown() async throws {
        try await withTemporaryDirectoryAsync { (directory: String) async throws in
            var configuration = NodeConfiguration()
            configuration.dataDirectory = directory
            configuration.mqtt.tcp = .init(host: "127.0.0.1", port: 0)
            let logs = InMemoryLogHandler()
            let node = Node(configuration: configuration, logger: Logger(label: "reflex", factory: { _ in logs }))

            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup { group in
                    group.addTask { try await node.run() }
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }

            let messages = logs.entries.map { "\($0.level) \($0.message)" }
            #expect(messages.first == "info Starting Reflex node")
            #expect(
                messages.contains(
                    "warning Authentication is off (anonymous access: every client may connect, publish and subscribe; "
                        + "device authentication arrives with the device registry)"
                )
            )
            #expect(messages.last == "info Reflex node stopped")
            let start = try #require(logs.entries.first)
            #expect(start.metadata["mqtt.listen"] == "127.0.0.1:0")
            #expect(start.metadata["mqtt.tlsListen"] == "off")
            #expect(
                start.metadata["node.dataDirectory"] == "\(URL(fileURLWithPath: directory).standardizedFileURL.path)"
            )
        }
    }

    @Test("sessions are kept under the data directory") func sessionStorePath() {
        var configuration = NodeConfiguration()
        configuration.dataDirectory = "/var/lib/reflex"
        #expect(
            Node(configuration: configuration, logger: Logger(label: "t")).sessionStorePath
                == "/var/lib/reflex/mqtt/sessions.json"
        )
    }
}
