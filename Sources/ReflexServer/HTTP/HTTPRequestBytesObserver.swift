import NIOCore
import ReflexNode

/// Tells an ``HTTPTimeoutHandler`` that bytes arrived, before the HTTP decoder sees them: on a
/// kept-alive connection the first bytes of the next request start its header timeout (the
/// decoder produces nothing until a head is complete, so the timeout handler alone cannot see
/// them).
final class HTTPRequestBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeouts: HTTPTimeoutHandler

    init(timeouts: HTTPTimeoutHandler) {
        self.timeouts = timeouts
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timeouts.bytesArrived()
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension HTTPRequestBytesObserver: Sendable {}
