public import NIOCore

/// Who a connected client is, as decided by an ``Authenticator``.
public struct ClientIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The authenticated principal (a device id, an operator name), or nil for anonymous clients.
    public var principal: String?
    /// Free-form roles for the ``TopicAuthorizer`` to use (e.g. "device", "service").
    public var roles: Set<String>
    /// Which credential this connection proved the identity with, in the authenticator's own
    /// non-secret terms (a token's record id or fingerprint, never the token), so that it can be
    /// re-checked when credentials change (revocation). Not part of equality or hashing: the
    /// same device with a rotated token is the same identity.
    public var credential: String?

    public init(principal: String?, roles: Set<String> = [], credential: String? = nil) {
        self.principal = principal
        self.roles = roles
        self.credential = credential
    }

    public static func == (lhs: ClientIdentity, rhs: ClientIdentity) -> Bool {
        lhs.principal == rhs.principal && lhs.roles == rhs.roles
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(principal)
        hasher.combine(roles)
    }

    /// An unauthenticated client.
    public static let anonymous = ClientIdentity(principal: nil)

    public var description: String { principal ?? "anonymous" }
}

/// The credentials a client presented in CONNECT.
public struct ConnectCredentials: Sendable {
    public var clientID: String
    public var username: String?
    /// The raw password bytes; never log them.
    public var password: ByteBuffer?
    /// The remote address, for logs and address-based policies.
    public var remoteAddress: String?

    public init(clientID: String, username: String?, password: ByteBuffer?, remoteAddress: String?) {
        self.clientID = clientID
        self.username = username
        self.password = password
        self.remoteAddress = remoteAddress
    }
}

/// The result of authenticating a CONNECT.
public enum AuthenticationResult: Sendable {
    case accepted(ClientIdentity)
    /// Refused; the reason code goes into CONNACK (typically bad user name or password, or not authorized).
    case refused(ReasonCode)
}

/// Decides who may connect. Implementations must be fast or do their slow work off the event
/// loop: ``authenticate(_:)`` is async and the connection waits for it before CONNACK.
///
/// The broker calls it once per CONNECT. Return `.refused(.badUserNameOrPassword)` for wrong
/// credentials and `.refused(.notAuthorized)` for a known client that may not connect.
public protocol Authenticator: Sendable {
    func authenticate(_ credentials: ConnectCredentials) async -> AuthenticationResult
}

/// Decides whether an identity may publish to a topic or subscribe with a filter. Called on the
/// broker's event loop for every PUBLISH and SUBSCRIBE, so it must be synchronous and cheap.
public protocol TopicAuthorizer: Sendable {
    func mayPublish(_ identity: ClientIdentity, clientID: String, topic: String) -> Bool
    func maySubscribe(_ identity: ClientIdentity, clientID: String, filter: String) -> Bool
}

/// The development default: everyone may connect, publish and subscribe everywhere. The server
/// logs a warning at startup when it is in use.
public struct AllowAllAuthenticator: Authenticator, TopicAuthorizer {
    public init() {}
    public func authenticate(_ credentials: ConnectCredentials) async -> AuthenticationResult {
        .accepted(ClientIdentity(principal: credentials.username))
    }
    public func mayPublish(_ identity: ClientIdentity, clientID: String, topic: String) -> Bool { true }
    public func maySubscribe(_ identity: ClientIdentity, clientID: String, filter: String) -> Bool { true }
}
