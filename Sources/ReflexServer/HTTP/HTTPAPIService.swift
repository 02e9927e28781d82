import Hummingbird
import Logging
import NIOCore
public import ReflexMQTT
import ReflexNode
public import ServiceLifecycle
import Synchronization

/// The HTTP API as a `Service` for the node's `ServiceGroup`: runs the Hummingbird application
/// of an ``HTTPAPI`` on one address until graceful shutdown.
///
/// A failure before the socket is open (the port is taken, the address is not local) is thrown
/// as an ``HTTPStartError`` that names the address and how to choose another.
public struct HTTPAPIService: Service {
    /// The API served.
    public let api: HTTPAPI
    /// Where it listens (port 0 picks a free port; the log names the bound one).
    public let listen: BrokerConfiguration.Endpoint

    /// - Parameters:
    ///   - api: the routes and their dependencies.
    ///   - listen: the address from `http.listen`.
    public init(api: HTTPAPI, listen: BrokerConfiguration.Endpoint) {
        self.api = api
        self.listen = listen
    }

    public func run() async throws {
        let started = StartedFlag()
        let app = api.makeApplication(listen: listen) { _ in started.set() }
        do {
            try await app.run()
        } catch  where !started.isSet {
            throw HTTPStartError(
                message: "cannot listen for HTTP on \(listen): \(error); if another program uses that port, stop it "
                    + "or choose another address with --http-listen / REFLEX_HTTP_LISTEN (off disables the API)"
            )
        }
    }
}

/// Set once the server's socket is open.
private final class StartedFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// The HTTP API could not start; the message names the address and what to do.
public struct HTTPStartError: Error, CustomStringConvertible {
    /// What went wrong, where, and how to fix it.
    public var message: String
    public var description: String { message }
}
