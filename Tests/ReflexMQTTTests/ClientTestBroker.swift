import Logging
import NIOCore
import ReflexMQTT

/// Accepts user "device-1" with password "secret" and nobody else.
struct PasswordAuthenticator: Authenticator {
    func authenticate(_ credentials: ConnectCredentials) async -> AuthenticationResult {
        let password = credentials.password.map { String(buffer: $0) }
        guard credentials.username == "device-1", password == "secret" else { return .refused(.badUserNameOrPassword) }
        return .accepted(ClientIdentity(principal: "device-1"))
    }
}

let quietLogger = Logger(label: "client-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs a real ``MQTTBroker`` on 127.0.0.1 (port 0 picks a free one) while `body` runs.
/// - Parameter interceptor: sees every client PUBLISH (to observe what arrives, with which
///   identity, and to hold its PUBACK); nil routes everything as is.
func withClientTestBroker<T: Sendable>(
    port: Int = 0,
    authenticator: any Authenticator = AllowAllAuthenticator(),
    interceptor: (any PublishInterceptor)? = nil,
    _ body: @Sendable @escaping (Int) async throws -> T
) async throws -> T {
    var configuration = BrokerConfiguration()
    configuration.tcp = .init(host: "127.0.0.1", port: port)
    let broker = MQTTBroker(
        configuration: configuration,
        authenticator: authenticator,
        interceptor: interceptor,
        logger: quietLogger
    )
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await broker.run()
            return nil
        }
        await broker.waitUntilListening()
        let bound = broker.boundPort("tcp") ?? port
        group.addTask { try await body(bound) }
        var result: T?
        while let next = try await group.next() {
            if let next {
                result = next
                group.cancelAll()
            }
        }
        guard let result else { throw ClientTestError.noResult }
        return result
    }
}

enum ClientTestError: Error {
    case noResult
    case timedOut(String)
}

func clientConfiguration(
    port: Int,
    id: String,
    version: ProtocolVersion = .v5,
    username: String? = nil,
    password: String? = nil
) -> MQTTClientConfiguration {
    var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: port, clientID: id)
    configuration.version = version
    configuration.username = username
    configuration.password = password
    configuration.keepAlive = .seconds(5)
    configuration.reconnectInitialDelay = .milliseconds(50)
    configuration.reconnectMaximumDelay = .milliseconds(400)
    return configuration
}

/// Runs clients as services next to `body`, cancelling them when `body` returns.
func withClients<T: Sendable>(
    _ clients: [MQTTClient],
    _ body: @Sendable @escaping () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        for client in clients {
            group.addTask {
                try await client.run()
                return nil
            }
        }
        group.addTask { try await body() }
        var result: T?
        while let next = try await group.next() {
            if let next {
                result = next
                group.cancelAll()
            }
        }
        guard let result else { throw ClientTestError.noResult }
        return result
    }
}

/// The next message on `client`, or an error after `limit` (no test waits forever).
func nextMessage(_ client: MQTTClient, within limit: Duration = .seconds(10)) async throws -> Publish {
    try await withThrowingTaskGroup(of: Publish?.self) { group in
        group.addTask {
            for await message in client.messages { return message }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: limit)
            throw ClientTestError.timedOut("no message within \(limit)")
        }
        defer { group.cancelAll() }
        guard let message = try await group.next() ?? nil else { throw ClientTestError.noResult }
        return message
    }
}
