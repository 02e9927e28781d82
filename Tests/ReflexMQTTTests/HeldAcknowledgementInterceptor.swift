import NIOCore
import ReflexMQTT
import Synchronization

/// A broker-side observer for client tests: records every PUBLISH a client sends (topic and the
/// identity the broker authenticated), and, when `holdsAcknowledgements` is set, holds each QoS 1
/// PUBACK until the test releases it.
///
/// While PUBACKs are held, ``unacknowledged`` is exactly the number of QoS 1 publishes the
/// client has outstanding at the broker, and ``maximumUnacknowledged`` the largest that number
/// ever was: the client's in-flight window as the broker sees it.
final class HeldAcknowledgementInterceptor: PublishInterceptor {
    struct Seen: Sendable, Equatable {
        var topic: String
        var principal: String?
    }

    private struct State {
        var seen: [Seen] = []
        var held: [EventLoopPromise<ReasonCode>] = []
        var maximumHeld = 0
    }

    let holdsAcknowledgements: Bool
    private let state = Mutex(State())

    init(holdsAcknowledgements: Bool) { self.holdsAcknowledgements = holdsAcknowledgements }

    func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition {
        let promise =
            holdsAcknowledgements && publish.qos == .atLeastOnce ? eventLoop.makePromise(of: ReasonCode.self) : nil
        state.withLock { state in
            state.seen.append(Seen(topic: publish.topic, principal: publish.identity.principal))
            if let promise {
                state.held.append(promise)
                state.maximumHeld = max(state.maximumHeld, state.held.count)
            }
        }
        return promise.map { .acceptAfter($0.futureResult) } ?? .accept
    }

    /// Every PUBLISH seen so far, in arrival order.
    var seen: [Seen] { state.withLock { $0.seen } }

    /// QoS 1 publishes whose PUBACK is held now.
    var unacknowledged: Int { state.withLock { $0.held.count } }

    /// The most QoS 1 publishes ever held at once.
    var maximumUnacknowledged: Int { state.withLock { $0.maximumHeld } }

    /// Sends the PUBACK of the oldest held publish.
    /// - Returns: false if none was held.
    @discardableResult
    func releaseOldest() -> Bool {
        let promise = state.withLock { state in state.held.isEmpty ? nil : state.held.removeFirst() }
        promise?.succeed(.success)
        return promise != nil
    }

    /// Sends every held PUBACK (so that no publish is left waiting when a test ends).
    func releaseAll() {
        let promises = state.withLock { state in
            defer { state.held = [] }
            return state.held
        }
        for promise in promises { promise.succeed(.success) }
    }
}
