import NIOCore
import Synchronization

/// A client whose CONNECT was accepted and that is still connected.
public struct ConnectedClient: Sendable, Hashable {
    /// The client id it connected with.
    public var clientID: String
    /// Who it authenticated as, including the credential it used (``ClientIdentity/credential``).
    public var identity: ClientIdentity

    public init(clientID: String, identity: ClientIdentity) {
        self.clientID = clientID
        self.identity = identity
    }
}

extension MQTTBroker {
    /// The clients connected now (CONNECT accepted, not closing); empty when the broker is not
    /// running. Used to re-check their credentials when the registry changes.
    public func connectedClientList() async throws -> [ConnectedClient] {
        guard let core = runningCore.withLock({ $0 }) else { return [] }
        return try await core.eventLoop.submit { core.connectedClientList() }.get()
    }

    /// Disconnects every connected client whose identity `shouldClose` picks, on the broker's
    /// event loop: an MQTT 5 client gets DISCONNECT with `reason` (and `reasonString`) first,
    /// an MQTT 3.1.1 client has its TCP connection closed. Their wills are dropped: a client
    /// whose credential was revoked gets to publish nothing more. Their persistent sessions
    /// stay, as after any disconnect, and expire as usual.
    ///
    /// Each one is counted in `$SYS/broker/clients/revoked`.
    /// - Returns: the clients disconnected (empty when the broker is not running).
    @discardableResult
    public func disconnectClients(
        reason: ReasonCode,
        reasonString: String,
        where shouldClose: @escaping @Sendable (ClientIdentity) -> Bool
    ) async throws -> [ConnectedClient] {
        guard let core = runningCore.withLock({ $0 }) else { return [] }
        return try await core.eventLoop.submit {
            core.disconnectClients(reason: reason, reasonString: reasonString, where: shouldClose)
        }.get()
    }
}

extension BrokerCore {
    /// See ``MQTTBroker/connectedClientList()``. Loop-confined.
    func connectedClientList() -> [ConnectedClient] {
        connections.values.compactMap { connection in
            guard connection.state == .connected else { return nil }
            return ConnectedClient(clientID: connection.clientID, identity: connection.identity)
        }
    }

    /// See ``MQTTBroker/disconnectClients(reason:reasonString:where:)``. Loop-confined.
    func disconnectClients(
        reason: ReasonCode,
        reasonString: String,
        where shouldClose: (ClientIdentity) -> Bool
    ) -> [ConnectedClient] {
        var closed: [ConnectedClient] = []
        for connection in Array(connections.values)
        where connection.state == .connected && shouldClose(connection.identity) {
            closed.append(ConnectedClient(clientID: connection.clientID, identity: connection.identity))
            connection.will = nil
            connection.closeWithReason(reason, reasonString: reasonString)
            statistics.revokedDisconnects += 1
        }
        flushAll()
        return closed
    }
}
