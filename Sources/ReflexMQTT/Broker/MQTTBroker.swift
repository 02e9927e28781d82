public import Logging
public import ServiceLifecycle

/// The embedded MQTT 3.1.1 + 5.0 broker, run as a `Service` in the node's `ServiceGroup`.
/// (Work in progress: this placeholder only waits for shutdown.)
public final class MQTTBroker: Service {
    public let configuration: BrokerConfiguration
    let logger: Logger
    let authenticator: any Authenticator
    let authorizer: any TopicAuthorizer
    let sessionStore: (any SessionStore)?

    /// - Parameters:
    ///   - configuration: listeners and limits.
    ///   - authenticator: who may connect (default: everyone).
    ///   - authorizer: who may publish/subscribe where (default: everyone).
    ///   - sessionStore: where persistent sessions are kept across restarts; nil keeps them in memory only.
    ///   - logger: the broker's logger.
    public init(
        configuration: BrokerConfiguration,
        authenticator: any Authenticator = AllowAllAuthenticator(),
        authorizer: any TopicAuthorizer = AllowAllAuthenticator(),
        sessionStore: (any SessionStore)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.sessionStore = sessionStore
        self.logger = logger
    }

    public func run() async throws {
        try await gracefulShutdown()
    }
}
