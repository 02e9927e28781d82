/// Broker-wide counters, loop-confined, published on `$SYS/broker/...`.
struct BrokerStatistics: Sendable {
    var messagesReceived = 0
    var messagesSent = 0
    var bytesReceived = 0
    var bytesSent = 0
    var publishReceived = 0
    var publishSent = 0
    var connectionsAccepted = 0
    var connectionsRefused = 0
    var malformedPackets = 0
    var protocolErrors = 0
    var droppedQoS0 = 0
    var droppedReliable = 0
    var slowClientDisconnects = 0
    var expiredMessages = 0
    var oversizeDropped = 0
    var keepAliveTimeouts = 0
    var unauthorizedPublishes = 0
    var unauthorizedSubscribes = 0
    /// CONNECTs refused because the client id's session belongs to another identity.
    var sessionOwnerRefusals = 0
    /// Restored subscriptions dropped because their identity may no longer make them.
    var droppedRestoredSubscriptions = 0
    /// Retained messages refused because their publisher's (or the node's) quota was full.
    var retainedQuotaRefusals = 0
    /// Clients disconnected because their credential was revoked (MQTTBroker+Revocation).
    var revokedDisconnects = 0
}
