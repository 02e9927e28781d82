import Hummingbird
import HummingbirdCore
import ReflexNode

extension HTTPAPI {
    /// The HTTP/1 server of ``makeApplication(listen:onServerRunning:)``: Hummingbird's, behind
    /// the connection cap and the header, body and idle timeouts of ``configuration`` (see
    /// ``GuardedHTTP1Channel``).
    func makeServer() -> HTTPServerBuilder {
        let configuration = self.configuration
        let counters = self.connectionCounters
        let logger = self.logger
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(responder: responder, configuration: configuration, counters: counters, logger: logger)
        }
    }

    /// What the HTTP server's connection guard has counted so far.
    public var connectionStatistics: HTTPConnectionStatistics { connectionCounters.statistics }
}
