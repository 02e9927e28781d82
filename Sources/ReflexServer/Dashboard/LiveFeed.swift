import Hummingbird
import Logging
import NIOCore
import ReflexCore
import ReflexNode
import ReflexStore
import ServiceLifecycle
import Synchronization

/// What the live dashboard feeds have done since start (for tests and diagnostics).
public struct LiveFeedStatistics: Sendable, Hashable {
    /// Clients streaming now.
    public var clients = 0
    /// Clients served since start.
    public var connections = 0
    /// Events written to clients.
    public var eventsSent = 0
    /// Frames a client lost because it read slower than events arrived (its buffer was full).
    public var dropped = 0
    /// Heartbeat comments written.
    public var heartbeats = 0
}

/// The counters behind ``LiveFeedStatistics``, shared by every client.
final class LiveFeedCounters: Sendable {
    private let state = Mutex(LiveFeedStatistics())
    var value: LiveFeedStatistics { state.withLock { $0 } }
    func update(_ change: (inout LiveFeedStatistics) -> Void) { state.withLock { change(&$0) } }
}

/// One client's server-sent event stream of the node's events (`GET /api/v1/events`).
///
/// Subscribes to every ``NodeEvents`` channel, keeps the events of one device when asked
/// (`?device=`), and writes them as SSE frames through one bounded buffer: a client that reads
/// slower than events arrive loses the newest frames (counted in ``LiveFeedStatistics/dropped``)
/// and never slows ingest down. A comment line every `heartbeat` keeps proxies from closing an
/// idle stream. The stream ends when the client goes away, when the channels finish, on
/// graceful shutdown of the HTTP service, or when the operator token that opened it is revoked
/// (registered in ``OpenEventStreams``; the last frame is then `event: revoked`).
struct LiveFeed: Sendable {
    let events: NodeEvents
    let device: DeviceID?
    let heartbeat: Duration
    /// Frames buffered per client (and per channel subscription).
    let bufferSize: Int
    let counters: LiveFeedCounters
    /// The token that opened the stream and where it is registered; nil: not revocable (tests).
    let token: OperatorToken?
    let openStreams: OpenEventStreams?
    let logger: Logger

    /// The last frame of a stream whose token was revoked.
    static let revokedFrame = "event: revoked\ndata: {\"reason\":\"the operator token was revoked\"}\n\n"

    /// Streams frames to `writer` until one of the ends above.
    func run(writer: inout any ResponseBodyWriter) async throws {
        let (frames, continuation) = AsyncStream.makeStream(
            of: String.self,
            bufferingPolicy: .bufferingOldest(bufferSize)
        )
        let counters = self.counters
        let client = LiveFeedCounters()
        let device = self.device
        let yield: @Sendable (String) -> Void = { frame in
            if case .dropped = continuation.yield(frame) {
                counters.update { $0.dropped += 1 }
                client.update { $0.dropped += 1 }
            }
        }
        let revoked = RevocationFlag()
        let openStreams = self.openStreams
        let registration = token.flatMap { token in
            openStreams?.register(tokenID: token.id, tokenName: token.name) {
                revoked.set()
                continuation.finish()
            }
        }
        defer { if let registration { openStreams?.unregister(registration) } }
        let telemetry = events.telemetry.subscribe(bufferSize: bufferSize)
        let status = events.deviceStatus.subscribe(bufferSize: bufferSize)
        let analytics = events.analytics.subscribe(bufferSize: bufferSize)
        let automation = events.automation.subscribe(bufferSize: bufferSize)
        counters.update {
            $0.clients += 1
            $0.connections += 1
        }
        logger.debug("Live feed client connected", metadata: ["feed.device": "\(device.map { "\($0)" } ?? "all")"])
        defer {
            counters.update { $0.clients -= 1 }
            let dropped = client.value.dropped
            if dropped > 0 {
                logger.notice(
                    "Live feed client read too slowly; events were dropped",
                    metadata: ["feed.dropped": "\(dropped)"]
                )
            }
            logger.debug("Live feed client gone")
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The stream of frames ends when every channel has ended (node shutdown).
                await withTaskGroup(of: Void.self) { forwarders in
                    forwarders.addTask {
                        await Self.forward(
                            telemetry,
                            device: device,
                            yield: yield,
                            as: { DashboardEvent.telemetry($0.batch) }
                        )
                    }
                    forwarders.addTask {
                        await Self.forward(status, device: device, yield: yield, as: DashboardEvent.status)
                    }
                    forwarders.addTask {
                        await Self.forward(analytics, device: device, yield: yield, as: DashboardEvent.init)
                    }
                    forwarders.addTask {
                        await Self.forward(automation, device: device, yield: yield, as: DashboardEvent.init)
                    }
                }
                continuation.finish()
            }
            let heartbeat = self.heartbeat
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: heartbeat)
                    yield(": heartbeat\n\n")
                    counters.update { $0.heartbeats += 1 }
                }
            }
            // `retry` tells EventSource-style readers how long to wait before reconnecting.
            try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
            do {
                for await frame in frames.cancelOnGracefulShutdown() {
                    if revoked.isSet { break }  // frames still buffered are not the token's any more
                    try await writer.write(ByteBuffer(string: frame))
                    if !frame.hasPrefix(":") { counters.update { $0.eventsSent += 1 } }
                }
                if revoked.isSet {
                    logger.notice(
                        "Ended a live feed: its operator token was revoked",
                        metadata: ["auth.tokenName": "\(token?.name ?? "")", "auth.tokenID": "\(token?.id ?? 0)"]
                    )
                    try await writer.write(ByteBuffer(string: Self.revokedFrame))
                }
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
        try await writer.finish(nil)
    }

    /// Hands each element of `stream` that concerns `device` (or every one when nil) to `yield`
    /// as SSE frames.
    private static func forward<Element: Sendable>(
        _ stream: AsyncStream<Element>,
        device: DeviceID?,
        yield: @Sendable (String) -> Void,
        as event: (Element) -> DashboardEvent
    ) async {
        for await element in stream {
            let dashboardEvent = event(element)
            if let device, dashboardEvent.device != device { continue }
            let text = dashboardEvent.serverSentEvents()
            if !text.isEmpty { yield(text) }
        }
    }
}

/// Set once when a feed's token is revoked; read by the writing loop.
private final class RevocationFlag: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}
