import NIOCore
import ReflexCore
import ReflexMQTT
public import ReflexStore
public import ServiceLifecycle
import Synchronization

/// Writes device attributes and online/offline changes to the store, off the broker's event
/// loop: the ingestor hands events over through a bounded stream that ``run()`` consumes.
///
/// The stream keeps at most 10,000 pending events; past that an event is dropped and counted
/// (an attributes message is then refused with 0x97, so its sender retries). On graceful
/// shutdown the stream is finished and what is pending is still written.
public final class DeviceStateRecorder: Service {
    enum Event: Sendable {
        case attributes(DeviceID, json: String, at: Int64, done: EventLoopPromise<ReasonCode>?)
        case status(DeviceID, online: Bool, at: Int64, reason: String)
    }

    let store: any DeviceStateStore
    let statusChanges: (any EventChannel<DeviceStatusChange>)?
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let droppedEvents = Mutex(0)

    /// - Parameters:
    ///   - store: where attributes and status changes are written.
    ///   - statusChanges: where each recorded online/offline change is published; nil: nowhere.
    public init(store: any DeviceStateStore, statusChanges: (any EventChannel<DeviceStatusChange>)? = nil) {
        self.store = store
        self.statusChanges = statusChanges
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingOldest(10_000))
    }

    /// Events lost because the queue was full.
    public var dropped: Int { droppedEvents.withLock { $0 } }

    /// Queues an event; false if the queue was full (the event is dropped and counted).
    @discardableResult
    func submit(_ event: Event) -> Bool {
        switch continuation.yield(event) {
        case .enqueued: return true
        case .dropped, .terminated:
            droppedEvents.withLock { $0 += 1 }
            return false
        @unknown default: return false
        }
    }

    public func run() async throws {
        let continuation = self.continuation
        await withGracefulShutdownHandler {
            for await event in events {
                await write(event)
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }

    private func write(_ event: Event) async {
        switch event {
        case .attributes(let device, let json, let timestamp, let done):
            do {
                try await store.recordAttributes(device: device, json: json, at: timestamp)
                done?.succeed(.success)
            } catch {
                done?.succeed(.unspecifiedError)
            }
        case .status(let device, let online, let timestamp, let reason):
            try? await store.recordStatus(device: device, online: online, at: timestamp, reason: reason)
            statusChanges?.publish(
                DeviceStatusChange(device: device, isOnline: online, timestamp: timestamp, reason: reason)
            )
        }
    }
}
