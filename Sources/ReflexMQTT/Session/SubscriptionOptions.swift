/// What one subscription of one session asked for, as stored in the subscription index.
struct SubscriptionOptions: Sendable, Equatable {
    var qos: QoS
    var noLocal: Bool
    var retainAsPublished: Bool
    var retainHandling: RetainHandling
    /// The v5 subscription identifier given with the SUBSCRIBE, if any.
    var identifier: Int?
}

/// A session as a key of the subscription index: identity is the session object, so routing
/// reaches the session without a second lookup by client id.
struct SessionRef: Hashable, Sendable {
    let session: Session
    static func == (lhs: SessionRef, rhs: SessionRef) -> Bool { lhs.session === rhs.session }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(session)) }
}
