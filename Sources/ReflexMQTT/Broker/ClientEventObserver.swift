/// Hears when clients come and go. If the broker's ``PublishInterceptor`` also conforms to this
/// protocol, the broker calls it; the ingest pipeline uses it to record device online/offline
/// status. Called on the broker's event loop: return quickly, hand work elsewhere.
public protocol ClientEventObserver: Sendable {
    /// A client's CONNECT was accepted.
    func clientConnected(clientID: String, identity: ClientIdentity)
    /// An accepted client's connection ended. `graceful` is true after a normal DISCONNECT
    /// (reason 0x00); false for a dropped connection, a timeout, a protocol error or a server close.
    func clientDisconnected(clientID: String, identity: ClientIdentity, graceful: Bool)
}
