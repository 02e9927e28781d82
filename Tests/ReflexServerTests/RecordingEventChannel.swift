import ReflexNode
import Synchronization

/// An ``EventChannel`` that keeps every value published on it, in order, and hands each on to its
/// subscribers as a ``Broadcast`` does.
///
/// A test reads ``published`` right after the call that should have published, with no
/// subscription made beforehand and no stream to drain (or to wait on forever when nothing came):
/// `NodeEvents(analytics: recorder)`, drive the stage, then `#expect(recorder.published == ...)`.
final class RecordingEventChannel<Element: Sendable>: EventChannel {
    private let subscribers = Broadcast<Element>()
    private let recorded = Mutex<[Element]>([])

    init() {}

    /// Every value published so far, in publishing order.
    var published: [Element] { recorded.withLock { $0 } }

    func publish(_ value: Element) {
        recorded.withLock { $0.append(value) }
        subscribers.publish(value)
    }

    func subscribe(bufferSize: Int) -> AsyncStream<Element> { subscribers.subscribe(bufferSize: bufferSize) }

    func finish() { subscribers.finish() }

    var droppedCount: Int { subscribers.droppedCount }

    var subscriberCount: Int { subscribers.subscriberCount }
}
