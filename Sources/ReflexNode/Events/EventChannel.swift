/// One stream of the node's event bus: producers publish values, each subscriber gets its own
/// bounded stream of them.
///
/// The stages after the store (detection, automation, the dashboard's live feed) are joined by
/// channels, never by each other: a producer holds a channel and publishes on it, a consumer
/// subscribes to it. ``NodeEvents`` holds the node's four channels. In one process they are
/// ``Broadcast``s; a cluster (issue 16) will provide a channel carried over a NATS JetStream
/// stream, so that a stage can run on another node without either side changing.
///
/// A channel must give these guarantees, which the stages rely on:
/// - **publish never blocks**: ``publish(_:)`` is synchronous and returns at once. It is called
///   from store completions and from the detection and automation loops; it must not wait for a
///   subscriber, a lock held across I/O, or the network. A channel carried over a stream queues
///   the value in a bounded buffer and sends it from its own `Service`.
/// - **ordering per publisher**: values published one after another by the same caller reach
///   every subscriber in that order. Values of different publishers may interleave.
/// - **bounded buffers**: each subscriber's buffer holds at most the `bufferSize` it asked for;
///   nothing grows without limit when a subscriber is slow or gone.
/// - **drops counted**: a value a subscriber cannot take (its buffer is full, or the transport
///   refused it) is dropped, never waited for, and counted in ``droppedCount``, so that a loss is
///   visible rather than silent (the detection stats report the telemetry channel's drops).
/// - **no replay**: a subscriber sees the values published after it subscribed. Subscribe before
///   the producers start.
/// - **finish drains**: after ``finish()``, each subscriber's stream ends once its buffer is
///   read, and a later ``subscribe(bufferSize:)`` returns a finished stream.
///
/// Data that was acknowledged to a device does not depend on a channel: it is in the store, and
/// detection reads the store's commit log. A channel carries derived, live views of it.
///
/// ```swift
/// let events = NodeEvents()                                   // Broadcast channels
/// let notices = events.automation.subscribe(bufferSize: 1_000) // before the producers start
/// events.automation.publish(.alarm(alarm))
/// for await notice in notices { ... }
/// ```
///
/// The node calls a channel per batch or per decision, not per sample, so the dynamic dispatch of
/// `any EventChannel<Element>` costs nothing measurable.
public protocol EventChannel<Element>: Sendable {
    /// The values the channel carries.
    associatedtype Element: Sendable

    /// Offers `value` to every current subscriber without waiting; counts a drop for each
    /// subscriber that cannot take it.
    func publish(_ value: Element)

    /// A new stream of every value published from now on, buffering at most `bufferSize` of them
    /// (at least one). The stream ends when the subscriber stops iterating or ``finish()`` is
    /// called.
    func subscribe(bufferSize: Int) -> AsyncStream<Element>

    /// Ends every subscriber's stream (after it has drained its buffer); later subscribers get a
    /// finished stream. Called on shutdown, after the producers have stopped.
    func finish()

    /// Values that some subscriber lost because its buffer was full (or, for a channel carried
    /// over a stream, the transport refused them), since start.
    var droppedCount: Int { get }

    /// How many subscribers of this process are listening.
    var subscriberCount: Int { get }
}
