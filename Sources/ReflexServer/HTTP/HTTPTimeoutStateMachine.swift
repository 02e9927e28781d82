import NIOCore
import ReflexNode

/// When an HTTP/1 connection must have sent what: the decisions of ``HTTPTimeoutHandler``, as a
/// pure state machine (events and times in, actions out).
///
/// - A new connection must deliver its first request head within `headerTimeout` (a client
///   that connects and sends nothing, or half a header, is closed); so must a kept-alive
///   connection once the first bytes of its next request arrive.
/// - Once a head has arrived, the whole request body must arrive within `bodyTimeout` of it.
/// - Once the request is read, nothing is timed here while the response is written: a response
///   may stream for hours (the live feed `/api/v1/events`).
/// - Between requests on a kept-alive connection (no byte of the next one yet) Hummingbird's
///   idle timeout applies (`HTTP1Channel.Configuration.idleTimeout`, `http.idleTimeout`).
struct HTTPTimeoutStateMachine {
    /// How long a new connection may take to send its first request head.
    let headerTimeout: TimeAmount
    /// How long a request's body may take, from its head.
    let bodyTimeout: TimeAmount

    /// What the connection is waiting for.
    enum Phase: Equatable {
        /// Connected, or the next request's first bytes arrived, and no head yet: closed at `deadline`.
        case awaitingHead(deadline: NIODeadline)
        /// A head arrived, the body has not ended: closed at `deadline`.
        case readingBody(deadline: NIODeadline)
        /// The request is read; the response is being written (not timed).
        case responding
        /// Between requests, no byte of the next one yet: Hummingbird's idle timeout applies.
        case betweenRequests
    }

    /// Which timeout closed a connection.
    enum Expiry: Equatable {
        case header, body
    }

    /// What the handler must do.
    enum Action: Equatable {
        /// Arm the timer for `deadline` (replacing any armed one).
        case schedule(NIODeadline)
        /// Disarm the timer.
        case cancel
        /// Close the connection: the `Expiry` timeout passed.
        case close(Expiry)
        /// Nothing.
        case none
    }

    private(set) var phase: Phase = .betweenRequests

    /// The connection became active at `now`.
    mutating func connected(at now: NIODeadline) -> Action {
        let deadline = now + headerTimeout
        phase = .awaitingHead(deadline: deadline)
        return .schedule(deadline)
    }

    /// Bytes arrived at `now` (before the HTTP decoder): between requests, they start the next
    /// request's header timeout.
    mutating func bytesArrived(at now: NIODeadline) -> Action {
        guard phase == .betweenRequests else { return .none }
        let deadline = now + headerTimeout
        phase = .awaitingHead(deadline: deadline)
        return .schedule(deadline)
    }

    /// A request head was read at `now`.
    mutating func readHead(at now: NIODeadline) -> Action {
        let deadline = now + bodyTimeout
        phase = .readingBody(deadline: deadline)
        return .schedule(deadline)
    }

    /// The request's end was read.
    mutating func readEnd() -> Action {
        guard case .readingBody = phase else { return .none }
        phase = .responding
        return .cancel
    }

    /// The response's end was written.
    mutating func wroteEnd() -> Action {
        guard phase == .responding else { return .none }
        phase = .betweenRequests
        return .none
    }

    /// The timer fired at `now`.
    func timerFired(at now: NIODeadline) -> Action {
        switch phase {
        case .awaitingHead(let deadline):
            now >= deadline ? .close(.header) : .schedule(deadline)
        case .readingBody(let deadline):
            now >= deadline ? .close(.body) : .schedule(deadline)
        case .responding, .betweenRequests:
            .none
        }
    }
}
