public import Logging
public import Metrics
import NIOCore
import NIOPosix
import NIOSSL
import OrderedCollections
public import ServiceLifecycle
import Synchronization

/// The embedded MQTT 3.1.1 + 5.0 broker, run as a `Service` in the node's `ServiceGroup`.
///
/// All broker state lives on one event loop (see ``BrokerCore``); the listeners (TCP and TLS)
/// accept onto that loop. `run()` restores persisted sessions, binds, serves until graceful
/// shutdown, then stops accepting, tells v5 clients the server is shutting down (0x8B), closes
/// every connection and saves the sessions.
public final class MQTTBroker: Service {
    public let configuration: BrokerConfiguration
    let logger: Logger
    let authenticator: any Authenticator
    let authorizer: any TopicAuthorizer
    let sessionStore: (any SessionStore)?
    let interceptor: (any PublishInterceptor)?
    let metricsFactory: any MetricsFactory
    private let connectedCount = ConnectedClientCount()
    private let boundAddresses = Mutex<[String: SocketAddress]>([:])
    /// The running broker's core, for in-process publishes; nil before `run()` and after it.
    let runningCore = Mutex<BrokerCore?>(nil)
    private let listeningEvents: AsyncStream<Void>
    private let listeningContinuation: AsyncStream<Void>.Continuation

    /// - Parameters:
    ///   - configuration: listeners and limits.
    ///   - authenticator: who may connect (default: everyone).
    ///   - authorizer: who may publish/subscribe where (default: everyone).
    ///   - sessionStore: where persistent sessions and retained messages are kept across restarts;
    ///     nil keeps them in memory only.
    ///   - interceptor: sees client publishes before routing and may defer their acknowledgement
    ///     (the ingest pipeline); nil routes everything as is.
    ///   - metricsFactory: where the broker's swift-metrics counters go (default: the process-wide
    ///     `MetricsSystem.factory`; a node passes its own registry's factory).
    ///   - logger: the broker's logger.
    public init(
        configuration: BrokerConfiguration,
        authenticator: any Authenticator = AllowAllAuthenticator(),
        authorizer: any TopicAuthorizer = AllowAllAuthenticator(),
        sessionStore: (any SessionStore)? = nil,
        interceptor: (any PublishInterceptor)? = nil,
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.interceptor = interceptor
        self.metricsFactory = metricsFactory
        self.configuration = configuration
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.sessionStore = sessionStore
        self.logger = logger
        (listeningEvents, listeningContinuation) = AsyncStream.makeStream(
            of: Void.self,
            bufferingPolicy: .bufferingNewest(1)
        )
    }

    /// MQTT clients connected now (0 before `run()`).
    public var connectedClientCount: Int { connectedCount.current }

    /// Whether the broker runs and has bound every configured listener.
    public var isListening: Bool {
        let bound = boundAddresses.withLock { $0.count }
        let expected = (configuration.tcp == nil ? 0 : 1) + (configuration.tls == nil ? 0 : 1)
        return runningCore.withLock { $0 != nil } && bound >= expected
    }

    /// The port a listener ("tcp" or "tls") is bound to, once listening (useful with port 0).
    public func boundPort(_ listener: String) -> Int? {
        boundAddresses.withLock { $0[listener]?.port }
    }

    /// Returns once every configured listener is bound.
    public func waitUntilListening() async {
        for await _ in listeningEvents { return }
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let core = BrokerCore(
            eventLoop: loop,
            configuration: configuration,
            authorizer: authorizer,
            interceptor: interceptor,
            logger: logger
        )
        let metrics = BrokerMetrics(factory: metricsFactory, connected: connectedCount)
        let connectedCount = self.connectedCount
        try await loop.submit { core.connectedCount = connectedCount }.get()
        if let sessionStore {
            try await loop.submit { core.journal = BrokerJournal(store: sessionStore) }.get()
        }
        do {
            try await restore(into: core)
            let tlsContext = try configuration.tlsFiles.map { try Self.makeTLSContext($0) }
            var listeners: [any Channel] = []
            if let tcp = configuration.tcp {
                listeners.append(try await bind(tcp, name: "tcp", tls: nil, core: core, metrics: metrics, loop: loop))
            }
            if let tls = configuration.tls, let tlsContext {
                listeners.append(
                    try await bind(tls, name: "tls", tls: tlsContext, core: core, metrics: metrics, loop: loop)
                )
            }
            try await loop.submit { core.startHousekeeping() }.get()
            runningCore.withLock { $0 = core }
            listeningContinuation.yield()
            let timers = try await startTimers(core: core, loop: loop)
            try? await gracefulShutdown()

            runningCore.withLock { $0 = nil }
            let connected = try await loop.submit { core.connectedClients }.get()
            logger.info("MQTT broker stopping", metadata: ["mqtt.clients": "\(connected)"])
            for listener in listeners { try? await listener.close() }
            for timer in timers { timer.cancel() }
            try await loop.submit { core.stopHousekeeping() }.get()
            try await core.closeAllConnections().get()
            try await save(core)
            logger.info("MQTT broker stopped")
        } catch {
            runningCore.withLock { $0 = nil }
            logger.error("MQTT broker failed", metadata: ["error": "\(error)"])
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    // MARK: - In-process publishing

    /// Publishes a message from inside the process (the automation engine's commands) to the
    /// matching subscribers, exactly as if a client had published it: retained messages are
    /// stored, offline persistent sessions queue it, QoS is capped per subscription.
    /// - Returns: how many subscriptions it was delivered to (0: nobody is listening).
    /// - Throws: ``BrokerNotRunningError`` before `run()` has bound its listeners or after shutdown.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: QoS, retain: Bool) async throws -> Int {
        guard let core = runningCore.withLock({ $0 }) else { throw BrokerNotRunningError() }
        var buffer = ByteBufferAllocator().buffer(capacity: payload.count)
        buffer.writeBytes(payload)
        let message = ApplicationMessage(
            topic: topic,
            payload: buffer,
            qos: qos,
            retain: retain,
            properties: Properties(),
            expiresAt: nil,
            publisherClientID: nil
        )
        let (count, durable) = try await core.eventLoop.submit {
            let mark = core.durableChangeCount
            let count = core.route(message)
            core.flushAll()
            return (count, core.journal != nil && core.durableChangeCount != mark ? core.commitDurably() : nil)
        }.get()
        // As for a client's QoS 1/2 PUBLISH: what it queued and retained is durable on return.
        if qos != .atMostOnce, let durable { try await durable.get() }
        return count
    }

    // MARK: - Listeners

    private static func makeTLSContext(_ files: BrokerConfiguration.TLSFiles) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = try NIOSSLPrivateKey(file: files.keyPath, format: .pem)
        let tlsConfiguration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain,
            privateKey: .privateKey(key)
        )
        return try NIOSSLContext(configuration: tlsConfiguration)
    }

    private func bind(
        _ endpoint: BrokerConfiguration.Endpoint,
        name: String,
        tls: NIOSSLContext?,
        core: BrokerCore,
        metrics: BrokerMetrics,
        loop: any EventLoop
    ) async throws -> any Channel {
        let authenticator = self.authenticator
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: loop)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024))
            .childChannelOption(.maxMessagesPerRead, value: 4)
            // NIO keeps a receive buffer per channel for reuse; starting small keeps idle
            // connections cheap, and the adaptive allocator grows it for busy publishers.
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65_536)
            )
            .childChannelInitializer { channel in
                let handler = MQTTConnectionHandler(
                    core: core,
                    authenticator: authenticator,
                    metrics: metrics,
                    logger: logger
                )
                do {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: endpoint.host, port: endpoint.port).get()
        } catch {
            throw BrokerStartError(
                message: "cannot listen for MQTT (\(name)) on \(endpoint): \(error); if another broker (mosquitto?) "
                    + "uses that port, stop it or choose another address with --mqtt-listen / REFLEX_MQTT_LISTEN"
            )
        }
        if let address = channel.localAddress {
            boundAddresses.withLock { $0[name] = address }
        }
        logger.info(
            "MQTT listener started",
            metadata: [
                "mqtt.listener": "\(name)", "mqtt.address": "\(channel.localAddress?.hostAndPort ?? "\(endpoint)")",
            ]
        )
        return channel
    }

    // MARK: - Timers and persistence

    private func startTimers(core: BrokerCore, loop: any EventLoop) async throws -> [RepeatedTask] {
        var tasks: [RepeatedTask] = []
        if configuration.sysIntervalSeconds > 0 {
            let sys = SystemTopicsPublisher(core: core)
            try await loop.submit { sys.publish() }.get()
            tasks.append(
                loop.scheduleRepeatedTask(
                    initialDelay: .seconds(Int64(configuration.sysIntervalSeconds)),
                    delay: .seconds(Int64(configuration.sysIntervalSeconds))
                ) { _ in
                    sys.publish()
                    core.flushAll()
                }
            )
        }
        if sessionStore != nil, configuration.sessionSaveIntervalSeconds > 0 {
            let interval = TimeAmount.seconds(Int64(configuration.sessionSaveIntervalSeconds))
            tasks.append(
                loop.scheduleRepeatedAsyncTask(initialDelay: interval, delay: interval) { _ in
                    guard core.hasUnsavedChanges || core.journal?.hasPendingChanges == true else {
                        return loop.makeSucceededVoidFuture()
                    }
                    // Through the journal, in order with the writes before it; a failure is
                    // logged there and the changes are marked for the next save.
                    return core.commitFullSave().recover { _ in }
                }
            )
        }
        return tasks
    }

    private func restore(into core: BrokerCore) async throws {
        guard let sessionStore else { return }
        let sessions = try await sessionStore.loadSessions()
        let retained = try await sessionStore.loadRetainedMessages()
        try await core.eventLoop.submit {
            BrokerSnapshot.restore(sessions: sessions, retained: retained, into: core)
        }.get()
        if !sessions.isEmpty || !retained.isEmpty {
            logger.info(
                "Restored MQTT state",
                metadata: ["mqtt.sessions": "\(sessions.count)", "mqtt.retained": "\(retained.count)"]
            )
        }
    }

    private func save(_ core: BrokerCore) async throws {
        guard sessionStore != nil else { return }
        // Every session whole, after the writes already under way (the journal keeps the order).
        let (saved, sessionCount, retainedCount, retainedChanged) = try await core.eventLoop.submit {
            core.isDirty = true
            let sessions = core.sessions.values.filter(\.isPersistent).count
            return (core.commitFullSave(), sessions, core.retained.count, core.retainedChanges.count)
        }.get()
        try await saved.get()
        logger.info(
            "Saved MQTT sessions",
            metadata: [
                "mqtt.sessions": "\(sessionCount)", "mqtt.retained": "\(retainedCount)",
                "mqtt.retained_changed": "\(retainedChanged)",
            ]
        )
    }
}

/// An in-process publish was attempted while the broker is not running.
public struct BrokerNotRunningError: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the MQTT broker is not running; in-process publishes need a running broker" }
}

/// The broker could not start; the message says what to change.
public struct BrokerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
