import Foundation
public import Logging
import ReflexCore
import ReflexMQTT
public import ServiceLifecycle
import UnixSignals

/// One Reflex node: every long-lived component as a `Service`, run in one `ServiceGroup` that
/// shuts down gracefully on SIGTERM and SIGINT.
///
/// Today that is the embedded MQTT broker with its sessions in
/// `<dataDirectory>/mqtt/sessions.json`; ingest, storage, detection and automation join the
/// group as they arrive, in dependency order (store first, HTTP last; shutdown in reverse).
///
/// ```swift
/// let configuration = try NodeConfiguration.load(configFile: nil, environment: env, overrides: flags)
/// try await Node(configuration: configuration, logger: Logger(label: "reflex")).run()
/// ```
public struct Node: Service {
    /// The validated configuration the node runs with.
    public let configuration: NodeConfiguration
    private let logger: Logger

    /// - Parameters:
    ///   - configuration: a configuration from ``NodeConfiguration/load(configFile:environment:overrides:)``
    ///     (which has checked the data directory and TLS files).
    ///   - logger: the node's logger; components get children of it with their own `component` metadata.
    public init(configuration: NodeConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The session snapshot file under the data directory.
    public var sessionStorePath: String {
        ((configuration.dataDirectory as NSString).appendingPathComponent("mqtt") as NSString)
            .appendingPathComponent("sessions.json")
    }

    /// Runs until SIGTERM/SIGINT or a graceful shutdown of an enclosing group, then drains every
    /// service and returns. Throws if a service fails.
    public func run() async throws {
        let mqtt = configuration.mqtt
        logger.info(
            "Starting Reflex node",
            metadata: [
                "reflex.version": "\(ReflexVersion.current)",
                "node.dataDirectory": "\(absolutePath(configuration.dataDirectory))",
                "mqtt.listen": "\(mqtt.tcp.map { "\($0)" } ?? "off")",
                "mqtt.tlsListen": "\(mqtt.tls.map { "\($0)" } ?? "off")",
                "mqtt.maxConnections": "\(mqtt.maxConnections)",
                "mqtt.maxPacketSize": "\(mqtt.maxPacketSize)",
                "log.level": "\(configuration.logLevel)",
            ]
        )
        logger.warning(
            "Authentication is off (anonymous access: every client may connect, publish and subscribe; device authentication arrives with the device registry)",
            metadata: ["mqtt.authenticator": "allow-all"]
        )

        var brokerLogger = logger
        brokerLogger[metadataKey: "component"] = "mqtt"
        let allowAll = AllowAllAuthenticator()
        let broker = MQTTBroker(
            configuration: mqtt,
            authenticator: allowAll,
            authorizer: allowAll,
            sessionStore: FileSessionStore(path: sessionStorePath),
            logger: brokerLogger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: broker, serviceName: "mqtt-broker")],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            logger.error("Reflex node failed", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("Reflex node stopped")
    }

    private func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
