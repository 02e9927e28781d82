/// Decides what a CONNECT may do with the session already registered under its client id: a
/// session belongs to the identity (principal) that created it, as AWS IoT binds a client id to
/// its thing.
///
/// - No session under the id: a new one, owned by the connecting identity.
/// - The owner connects again: today's MQTT rules. Clean start replaces the session, otherwise it
///   is resumed; a connected client with that id is taken over (DISCONNECT 0x8E).
/// - Another identity: refused (CONNACK 0x87 not authorized, 3.1.1 return code 5). The session
///   and any client connected with it are left untouched.
/// - A session restored from a snapshot written before owners were recorded (owner unknown):
///   the anonymous identity (anonymous access is on, everyone shares it and may read every
///   topic anyway) adopts it; an authenticated identity gets a fresh session and the old one is
///   discarded, because nothing tells whose subscriptions and queued messages it holds.
///
/// Identities are compared by principal only: roles may change between connections (and are
/// re-checked through the restored subscriptions), the principal is who the client is.
///
/// Pure: no I/O, no broker state; the connection handler applies the decision.
enum SessionOwnership {
    /// The session registered under the client id, as the decision needs it.
    struct Existing: Equatable {
        /// Who created it; nil when it was restored from a snapshot without owners.
        var owner: ClientIdentity?
        /// Whether a client is connected with it right now.
        var isConnected: Bool
    }

    /// What the CONNECT does with the existing session.
    enum Decision: Equatable {
        /// No session under this id: start one.
        case startNew
        /// Same owner, clean start: end the existing session and start a new one, taking over the
        /// connected client first when `takeOver` is set.
        case startOver(takeOver: Bool)
        /// Same owner, clean start = 0: resume the session, taking over the connected client first
        /// when `takeOver` is set.
        case resume(takeOver: Bool)
        /// The session has no recorded owner and the identity is authenticated: discard it and
        /// start a new one (session present = 0).
        case discardOwnerless
        /// The session belongs to another identity: refuse the CONNECT.
        case refuse(owner: ClientIdentity?)
    }

    /// Decides for a CONNECT by `identity` with `cleanStart`, given the session under its id.
    /// - Complexity: O(1).
    static func decide(existing: Existing?, identity: ClientIdentity, cleanStart: Bool) -> Decision {
        guard let existing else { return .startNew }
        guard let owner = existing.owner else {
            // Only restored sessions lack an owner, and they are offline; a connected one would
            // mean a bug, so it is refused rather than handed out.
            if existing.isConnected { return .refuse(owner: nil) }
            if identity.principal != nil { return .discardOwnerless }
            return cleanStart ? .startOver(takeOver: false) : .resume(takeOver: false)
        }
        guard owner.principal == identity.principal else { return .refuse(owner: owner) }
        return cleanStart ? .startOver(takeOver: existing.isConnected) : .resume(takeOver: existing.isConnected)
    }
}
