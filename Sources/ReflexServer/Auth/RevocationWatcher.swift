public import Logging
public import ReflexMQTT
public import ReflexNode
public import ReflexStore
public import ServiceLifecycle
import Synchronization

/// The MQTT side of revocation: the connected clients, and a way to close some of them.
/// ``ReflexMQTT/MQTTBroker`` is one (`MQTTBroker+Revocation.swift`).
public protocol RevocableConnections: Sendable {
    /// The clients connected now.
    func connectedClientList() async throws -> [ConnectedClient]
    /// Closes the connected clients `shouldClose` picks, with `reason` for MQTT 5 clients.
    /// - Returns: the clients closed.
    func disconnectClients(
        reason: ReasonCode,
        reasonString: String,
        where shouldClose: @escaping @Sendable (ClientIdentity) -> Bool
    ) async throws -> [ConnectedClient]
}

extension MQTTBroker: RevocableConnections {}

/// Ends what a revoked credential still holds open: MQTT connections and `/api/v1/events`
/// streams, within one poll of the change (250 ms by default), whichever process made it.
///
/// Every `interval` it reads the registry's ``ReflexStore/CredentialRegistry/changeGeneration()``
/// (one `PRAGMA data_version`; the `reflex device` and `reflex token` commands write the same
/// file from another process). When it moved, it re-checks each open connection's credential
/// (``CredentialReference``; one read of every device row, one cached lookup per operator
/// token) and each open stream's token against the registry, and closes
/// those no longer valid (``RevocationVerdict`` says why, and with which MQTT 5 reason). It
/// re-checks once more on the next poll, for a CONNECT that was being authenticated with the
/// old data while the first pass ran. Each closure is logged at notice and counted in
/// ``statistics``; the broker also counts them in `$SYS/broker/clients/revoked`.
public struct RevocationWatcher: Service {
    /// The default time between two polls of the registry.
    public static var defaultInterval: Duration { .milliseconds(250) }

    let registry: any CredentialRegistry
    let connections: any RevocableConnections
    let streams: OpenEventStreams?
    let interval: Duration
    let clock: any Clock<Duration>
    /// What the watcher has closed since start.
    public let statistics = RevocationStatistics()
    let logger: Logger

    /// - Parameters:
    ///   - registry: the credentials and their change generation.
    ///   - connections: the broker.
    ///   - streams: the open event streams (nil: none to watch).
    ///   - interval: time between polls; default 250 ms.
    ///   - clock: paces the polls (a manual clock in tests).
    ///   - logger: for what it closes (notice) and registry errors.
    public init(
        registry: any CredentialRegistry,
        connections: any RevocableConnections,
        streams: OpenEventStreams?,
        interval: Duration = Self.defaultInterval,
        clock: any Clock<Duration>,
        logger: Logger
    ) {
        self.registry = registry
        self.connections = connections
        self.streams = streams
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// Polls every `interval` until graceful shutdown or cancellation.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var cursor = RevocationCursor()
                while true {
                    try await clock.sleep(for: interval)
                    _ = await poll(&cursor)
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// One poll: re-checks and closes what is no longer valid if the registry changed since
    /// `cursor` (or a re-check is due). A registry error is logged, and the check is retried at
    /// the next poll; nothing is closed on an error.
    /// - Returns: what was closed, or nil when nothing needed checking or the check failed.
    public func poll(_ cursor: inout RevocationCursor) async -> RevocationPass? {
        do {
            let generation = try await registry.changeGeneration()
            guard cursor.needsCheck(generation: generation) else { return nil }
            let pass = try await recheck()
            if cursor.hadError {
                logger.notice("Credential re-checks work again")
                cursor.hadError = false
            }
            return pass
        } catch {
            statistics.update { $0.errors += 1 }
            cursor.recheckPending = true
            if !cursor.hadError {
                logger.error(
                    "Cannot re-check open connections against the registry; retrying",
                    metadata: ["error": "\(error)"]
                )
                cursor.hadError = true
            }
            return nil
        }
    }

    private func recheck() async throws -> RevocationPass {
        statistics.update { $0.checks += 1 }
        var pass = RevocationPass()
        let clients = try await connections.connectedClientList()
        let credentials = Set(clients.compactMap { CredentialReference(identity: $0.identity) })
        // One read of every device's row when there are devices to check, rather than one each.
        let hasDevices = credentials.contains { if case .deviceToken = $0 { true } else { false } }
        let devices = hasDevices ? try await registry.allCredentialStates() : [:]
        var verdicts: [CredentialReference: RevocationVerdict] = [:]
        for credential in credentials {
            switch credential {
            case .deviceToken(let device, let fingerprint):
                verdicts[credential] = RevocationVerdict(deviceFingerprint: fingerprint, current: devices[device])
            case .operatorToken(let id):
                verdicts[credential] = RevocationVerdict(operatorToken: try await registry.currentOperatorToken(id: id))
            }
        }
        let revoked = Set(verdicts.values).subtracting([.valid]).sorted { $0.explanation < $1.explanation }
        for verdict in revoked {
            guard let reason = verdict.reasonCode else { continue }
            let closing = Set(verdicts.filter { $0.value == verdict }.keys)
            let closed = try await connections.disconnectClients(
                reason: reason,
                reasonString: verdict.explanation,
                where: { identity in CredentialReference(identity: identity).map(closing.contains) ?? false }
            )
            for client in closed {
                pass.disconnected.append(RevocationPass.Disconnected(client: client, verdict: verdict))
                logger.notice(
                    "Disconnected an MQTT client whose credential is no longer valid",
                    metadata: [
                        "mqtt.client_id": "\(client.clientID)",
                        "mqtt.principal": "\(client.identity)",
                        "mqtt.reason": "\(reason)",
                        "auth.detail": "\(verdict.explanation)",
                    ]
                )
            }
        }
        if let streams {
            var revoked: Set<Int64> = []
            for tokenID in Set(streams.streams.map(\.tokenID))
            where RevocationVerdict(operatorToken: try await registry.currentOperatorToken(id: tokenID)) != .valid {
                revoked.insert(tokenID)
            }
            if !revoked.isEmpty {
                pass.endedStreams = streams.end(tokenIDs: revoked)
                for stream in pass.endedStreams {
                    logger.notice(
                        "Ending a live event stream whose operator token was revoked",
                        metadata: ["auth.tokenName": "\(stream.tokenName)", "auth.tokenID": "\(stream.tokenID)"]
                    )
                }
            }
        }
        statistics.update {
            $0.disconnectedClients += pass.disconnected.count
            $0.endedStreams += pass.endedStreams.count
        }
        return pass
    }
}

/// Where a ``RevocationWatcher`` is between polls: the registry generation it last checked
/// against, and whether one more re-check is due.
public struct RevocationCursor: Sendable, Hashable {
    /// The generation of the last check; nil before the first poll.
    public var seenGeneration: UInt64?
    /// Re-check at the next poll even if the generation did not move.
    public var recheckPending = false
    /// The last poll failed (logged once until it works again).
    public var hadError = false

    public init() {}

    /// Whether a poll that reads `generation` must re-check: the first poll, a moved generation,
    /// and the poll after either (a CONNECT authenticated with the old data may have been
    /// accepted while that check ran).
    public mutating func needsCheck(generation: UInt64) -> Bool {
        if generation != seenGeneration {
            seenGeneration = generation
            recheckPending = true
            return true
        }
        if recheckPending {
            recheckPending = false
            return true
        }
        return false
    }
}

/// What one re-check closed.
public struct RevocationPass: Sendable, Hashable {
    /// An MQTT client closed, and why.
    public struct Disconnected: Sendable, Hashable {
        public var client: ConnectedClient
        public var verdict: RevocationVerdict
    }

    /// The MQTT clients disconnected.
    public var disconnected: [Disconnected] = []
    /// The event streams ended.
    public var endedStreams: [OpenEventStreams.Stream] = []
}

/// Counts of what a ``RevocationWatcher`` did since start. Thread-safe.
public final class RevocationStatistics: Sendable {
    /// A snapshot.
    public struct Values: Sendable, Hashable {
        /// Re-checks run (after a registry change).
        public var checks = 0
        /// MQTT clients disconnected.
        public var disconnectedClients = 0
        /// Event streams ended.
        public var endedStreams = 0
        /// Polls that failed to read the registry.
        public var errors = 0
    }

    private let state = Mutex(Values())

    init() {}

    /// The counts so far.
    public var values: Values { state.withLock { $0 } }

    func update(_ change: (inout Values) -> Void) { state.withLock { change(&$0) } }
}
