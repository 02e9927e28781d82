import Logging
import NIOCore
import NIOHTTPTypes
import ReflexNode

/// Closes an HTTP/1 connection whose first request head, or whose request body, does not
/// arrive in time (see ``HTTPTimeoutStateMachine``); counts and logs (at debug) each close.
///
/// It sits after the HTTP codec, so it sees request parts: a client that sends half a header
/// produces no part at all and is closed when the header timeout passes.
final class HTTPTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var state: HTTPTimeoutStateMachine
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let counters: HTTPConnectionCounters
    private let logger: Logger

    init(headerTimeout: TimeAmount, bodyTimeout: TimeAmount, counters: HTTPConnectionCounters, logger: Logger) {
        self.state = HTTPTimeoutStateMachine(headerTimeout: headerTimeout, bodyTimeout: bodyTimeout)
        self.counters = counters
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { perform(state.connected(at: .now()), context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    /// Bytes arrived before the HTTP decoder (told by ``HTTPRequestBytesObserver``, on this
    /// channel's event loop).
    func bytesArrived() {
        guard let context else { return }
        perform(state.bytesArrived(at: .now()), context: context)
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(state.connected(at: .now()), context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: perform(state.readHead(at: .now()), context: context)
        case .body: break
        case .end: perform(state.readEnd(), context: context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { perform(state.wroteEnd(), context: context) }
        context.write(data, promise: promise)
    }

    private func perform(_ action: HTTPTimeoutStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .schedule(let deadline):
            timer?.cancel()
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                timer = nil
                perform(state.timerFired(at: .now()), context: context)
            }
        case .cancel:
            timer?.cancel()
            timer = nil
        case .close(let expiry):
            counters.timedOut(expiry)
            logger.debug(
                "Closed an HTTP connection that was too slow",
                metadata: [
                    "http.timeout": "\(expiry == .header ? "header" : "body")",
                    "http.remoteAddress": "\(context.channel.remoteAddress?.description ?? "?")",
                ]
            )
            context.close(promise: nil)
        case .none:
            break
        }
    }
}

@available(*, unavailable)
extension HTTPTimeoutHandler: Sendable {}
