/// Why an ``MQTTClient`` operation failed: a stable ``code``, a message naming the broker and the
/// operation, and the underlying error if any.
public struct MQTTClientError: Error, CustomStringConvertible, Sendable {
    /// A stable error category.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case connectionRefused, connectionFailed, connectionLost, notConnected, timeout
            case publishRejected, subscribeRejected, protocolViolation, shutdown
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The broker refused CONNECT (bad credentials, not authorized, unsupported version...).
        public static let connectionRefused = Code(.connectionRefused)
        /// The TCP connection could not be opened.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection dropped while the operation waited for its acknowledgement.
        public static let connectionLost = Code(.connectionLost)
        /// The client is not connected right now (it may be reconnecting).
        public static let notConnected = Code(.notConnected)
        /// The broker did not answer in time.
        public static let timeout = Code(.timeout)
        /// The broker answered a QoS 1 PUBLISH with a failure reason code.
        public static let publishRejected = Code(.publishRejected)
        /// The broker refused one or more topic filters of a SUBSCRIBE.
        public static let subscribeRejected = Code(.subscribeRejected)
        /// The broker sent something MQTT does not allow here.
        public static let protocolViolation = Code(.protocolViolation)
        /// The client was stopped.
        public static let shutdown = Code(.shutdown)

        public var description: String { "\(value)" }
    }

    /// The category.
    public var code: Code
    /// What happened and where, for people.
    public var message: String
    /// The MQTT reason code the broker sent, when there was one.
    public var reasonCode: ReasonCode?
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    public init(code: Code, message: String, reasonCode: ReasonCode? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.reasonCode = reasonCode
        self.cause = cause
    }

    public var description: String {
        var text = message
        if let cause { text += " (\(cause))" }
        return text
    }

    /// Whether retrying the connection cannot help (bad credentials, not authorized, banned,
    /// unsupported protocol version, invalid client identifier).
    public var isPermanent: Bool {
        guard code == .connectionRefused, let reasonCode else { return false }
        return [
            .badUserNameOrPassword, .notAuthorized, .banned, .unsupportedProtocolVersion, .clientIdentifierNotValid,
        ]
        .contains(reasonCode)
    }
}

extension ReasonCode {
    /// A few words for the reason codes a client meets, for error messages.
    var clientDescription: String {
        switch self {
        case .badUserNameOrPassword: "bad user name or password"
        case .notAuthorized: "not authorized"
        case .banned: "banned"
        case .unsupportedProtocolVersion: "unsupported protocol version"
        case .clientIdentifierNotValid: "client identifier not valid"
        case .serverUnavailable: "server unavailable"
        case .serverBusy: "server busy"
        case .serverShuttingDown: "server shutting down"
        case .quotaExceeded: "quota exceeded"
        case .payloadFormatInvalid: "payload format invalid"
        case .topicNameInvalid: "topic name invalid"
        case .topicFilterInvalid: "topic filter invalid"
        case .packetTooLarge: "packet too large"
        case .implementationSpecificError: "implementation-specific error"
        case .unspecifiedError: "unspecified error"
        case .sessionTakenOver: "session taken over"
        case .keepAliveTimeout: "keep-alive timeout"
        default: "reason \(self)"
        }
    }
}
