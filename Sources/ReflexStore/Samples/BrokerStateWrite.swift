public import Foundation

/// One change to the broker's stored sessions, as ``BrokerStateStore/applyBrokerState(_:retainedUpserts:retainedDeletions:removingDocument:)``
/// writes it (and, in this namespace, the stored rows the store reads back). The metadata is opaque to the store (the broker's JSON).
public enum BrokerStateWrite: Sendable, Equatable {
    /// Deletes every stored session and message, then stores these.
    case replaceAllSessions([SessionRow], messages: [SessionMessageRow])
    /// Inserts or replaces one session's record; its messages stay.
    case upsertSession(SessionRow)
    /// Deletes one session's record and all its messages.
    case removeSession(clientID: String)
    /// Inserts or replaces one message.
    case upsertMessage(SessionMessageRow)
    /// Changes a message's phase and packet id.
    case updateMessage(clientID: String, sequence: Int64, phase: String, packetID: Int?)
    /// Deletes one message.
    case removeMessage(clientID: String, sequence: Int64)

    /// One persistent session's record.
    public struct SessionRow: Sendable, Equatable {
        /// The MQTT client id, the row's key.
        public var clientID: String
        /// The session without its messages, as the broker encodes it.
        public var metadata: Data

        /// - Parameters:
        ///   - clientID: the session's client id.
        ///   - metadata: its encoded record.
        public init(clientID: String, metadata: Data) {
            self.clientID = clientID
            self.metadata = metadata
        }
    }

    /// One queued or in-flight message of a session.
    public struct SessionMessageRow: Sendable, Equatable {
        /// The session's client id.
        public var clientID: String
        /// The broker's sequence number: with the client id, the row's key; delivery order.
        public var sequence: Int64
        /// `queued`, `awaitingAck` or `awaitingComplete`, kept apart so a phase change does not
        /// rewrite the metadata.
        public var phase: String
        /// The packet id once sent.
        public var packetID: Int?
        /// Everything else but the payload, as the broker encodes it.
        public var metadata: Data
        /// The payload as published.
        public var payload: Data

        /// - Parameters:
        ///   - clientID: the session's client id.
        ///   - sequence: the broker's sequence number.
        ///   - phase: the delivery phase.
        ///   - packetID: the packet id, once sent.
        ///   - metadata: the encoded metadata.
        ///   - payload: the payload.
        public init(clientID: String, sequence: Int64, phase: String, packetID: Int?, metadata: Data, payload: Data) {
            self.clientID = clientID
            self.sequence = sequence
            self.phase = phase
            self.packetID = packetID
            self.metadata = metadata
            self.payload = payload
        }
    }

    /// One retained message as stored: its topic, its metadata (opaque to the store) and payload.
    public struct RetainedRow: Sendable, Equatable {
        /// The topic, the row's key.
        public var topic: String
        /// Everything but the payload, as the broker encodes it (JSON).
        public var metadata: Data
        /// The payload bytes as published.
        public var payload: Data

        /// - Parameters:
        ///   - topic: the retained message's topic.
        ///   - metadata: its encoded metadata.
        ///   - payload: its payload.
        public init(topic: String, metadata: Data, payload: Data) {
            self.topic = topic
            self.metadata = metadata
            self.payload = payload
        }
    }
}
