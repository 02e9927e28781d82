import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import ReflexNode

/// Hummingbird's HTTP/1 child channel behind a connection cap and request timeouts.
///
/// Over `maxConnections` open connections, a new one is answered `503` with `Connection: close`
/// and closed at once (Hummingbird's own `AvailableConnectionsDelegate` would instead stop
/// accepting, leaving clients to pile up in the kernel's backlog); refusals are counted and
/// logged at notice level at most once per ``HTTPConnectionCounters/logInterval``. Admitted
/// connections get an ``HTTPTimeoutHandler`` (header and body timeouts) with its
/// ``HTTPRequestBytesObserver`` in front of the HTTP decoder, and Hummingbird's idle timeout.
struct GuardedHTTP1Channel: ServerChildChannel {
    /// A child channel: served by `http`, or refused (nil).
    struct Connection: ServerChildChannelValue {
        let channel: any Channel
        let http: HTTP1Channel.Value?
    }

    let base: HTTP1Channel
    let maxConnections: Int
    let counters: HTTPConnectionCounters
    let logger: Logger

    /// - Parameters:
    ///   - responder: the application's responder.
    ///   - configuration: the timeouts and the cap.
    ///   - counters: shared by every connection of the server.
    ///   - logger: for refusals and timeouts.
    init(
        responder: @escaping HTTPChannelHandler.Responder,
        configuration: HTTPAPIConfiguration,
        counters: HTTPConnectionCounters,
        logger: Logger
    ) {
        let header = TimeAmount(configuration.headerTimeout)
        let body = TimeAmount(configuration.bodyTimeout)
        self.base = HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [
                    HTTPTimeoutHandler(headerTimeout: header, bodyTimeout: body, counters: counters, logger: logger)
                ],
                idleTimeout: TimeAmount(configuration.idleTimeout)
            )
        )
        self.maxConnections = configuration.maxConnections
        self.counters = counters
        self.logger = logger
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        switch counters.admit(limit: maxConnections, at: .now()) {
        case .admitted:
            channel.closeFuture.whenComplete { [counters] _ in counters.closed() }
            return base.setup(channel: channel, logger: logger).flatMapThrowing { http in
                let timeouts = try channel.pipeline.syncOperations.handler(type: HTTPTimeoutHandler.self)
                try channel.pipeline.syncOperations.addHandler(
                    HTTPRequestBytesObserver(timeouts: timeouts),
                    position: .first
                )
                return Connection(channel: channel, http: http)
            }
        case .refused(let logRefusals):
            if let logRefusals {
                self.logger.notice(
                    "Refused HTTP connections over the limit",
                    metadata: [
                        "http.maxConnections": "\(maxConnections)",
                        "http.refused": "\(logRefusals)",
                        "http.remoteAddress": "\(channel.remoteAddress?.description ?? "?")",
                    ]
                )
            }
            // Answered in handle(value:), once the channel is registered and active.
            return channel.eventLoop.makeSucceededFuture(Connection(channel: channel, http: nil))
        }
    }

    func handle(value: Connection, logger: Logger) async {
        guard let http = value.http else {
            // Refused: 503 and close, whether or not the client reads it.
            try? await value.channel.writeAndFlush(ByteBuffer(string: Self.refusal)).get()
            try? await value.channel.close().get()
            return
        }
        await base.handle(value: http, logger: logger)
    }

    /// The answer to a connection over the cap: 503 with a JSON error, then close.
    static let refusal: String = {
        let body = #"{"error":{"code":"unavailable","message":"too many HTTP connections are open; retry later"}}"#
        return "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + "Retry-After: 1\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
    }()
}

extension TimeAmount {
    /// `duration`, to the nanosecond (saturating).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = .nanoseconds(overflow ? .max : nanos + attoseconds / 1_000_000_000)
    }
}
