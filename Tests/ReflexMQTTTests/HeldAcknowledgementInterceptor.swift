import NIOCore
import ReflexMQTT
import Synchronization

/// A broker-side observer for client tests: records every PUBLISH a client sends (topic and the
/// identity the broker authenticated), and, when created with `holdsAcknowledgements`, holds each QoS 1
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
        var holding: Bool
    }

    private let state: Mutex<State>

    init(holdsAcknowledgements: Bool) { state = Mutex(State(holding: holdsAcknowledgements)) }

    func intercept(_ publish: InterceptedPublish, eventLoop: any EventLoop) -> PublishDisposition {
        state.withLock { state in
            state.seen.append(Seen(topic: publish.topic, principal: publish.identity.principal))
            guard state.holding, publish.qos == .atLeastOnce else { return .accept }
            let promise = eventLoop.makePromise(of: ReasonCode.self)
            state.held.append(promise)
            state.maximumHeld = max(state.maximumHeld, state.held.count)
            return .acceptAfter(promise.futureResult)
        }
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

    /// Sends every held PUBACK and holds no more (so that no publish is left waiting when a
    /// test ends).
    func releaseAll() {
        let promises = state.withLock { state in
            defer {
                state.held = []
                state.holding = false
            }
            return state.held
        }
        for promise in promises { promise.succeed(.success) }
    }
}
