import NIOCore
import ReflexNode
import Synchronization

/// What the HTTP server's connection guard has seen, shown by `GET /api/v1/ingest/stats` under
/// `http.connections`.
public struct HTTPConnectionStatistics: Sendable, Equatable, Codable {
    /// Connections open now.
    public var open = 0
    /// Connections accepted since start.
    public var accepted = 0
    /// Connections refused (503, then closed) because `http.maxConnections` were open.
    public var refusedOverLimit = 0
    /// Connections closed because no request head arrived within `http.headerTimeout`.
    public var headerTimeouts = 0
    /// Connections closed because a request body did not arrive within `http.bodyTimeout`.
    public var bodyTimeouts = 0

    /// Zeroed counters.
    public init() {}
}

/// The HTTP server's shared connection count and counters, across event loops: admits a new
/// connection while fewer than the cap are open, and decides when a refusal is logged (at most
/// once per `logInterval`, with how many were refused since the last line).
final class HTTPConnectionCounters: Sendable {
    private struct State {
        var statistics = HTTPConnectionStatistics()
        var lastRefusalLog: NIODeadline?
        var refusedSinceLog = 0
    }

    private let state = Mutex(State())
    /// The shortest time between two "refused" log lines.
    let logInterval: TimeAmount

    init(logInterval: TimeAmount = .seconds(10)) {
        self.logInterval = logInterval
    }

    /// A snapshot of the counters.
    var statistics: HTTPConnectionStatistics { state.withLock { $0.statistics } }

    /// What to do with a new connection.
    enum Admission: Equatable {
        /// Serve it; call ``closed()`` when it closes.
        case admitted
        /// Refuse it; when `logRefusals` is set, log a line saying that many were refused.
        case refused(logRefusals: Int?)
    }

    /// Admits a connection if fewer than `limit` are open, else counts a refusal at `now`.
    func admit(limit: Int, at now: NIODeadline) -> Admission {
        state.withLock { state in
            guard state.statistics.open >= limit else {
                state.statistics.open += 1
                state.statistics.accepted += 1
                return .admitted
            }
            state.statistics.refusedOverLimit += 1
            state.refusedSinceLog += 1
            if let last = state.lastRefusalLog, now < last + logInterval { return .refused(logRefusals: nil) }
            let count = state.refusedSinceLog
            state.refusedSinceLog = 0
            state.lastRefusalLog = now
            return .refused(logRefusals: count)
        }
    }

    /// An admitted connection closed.
    func closed() {
        state.withLock { $0.statistics.open -= 1 }
    }

    /// A connection was closed by a timeout.
    func timedOut(_ expiry: HTTPTimeoutStateMachine.Expiry) {
        state.withLock { state in
            switch expiry {
            case .header: state.statistics.headerTimeouts += 1
            case .body: state.statistics.bodyTimeouts += 1
            }
        }
    }
}
