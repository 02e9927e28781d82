import Synchronization

/// The open live-feed streams (`GET /api/v1/events`) and the operator token each was opened
/// with, so that revoking a token ends its streams (the ``RevocationWatcher`` asks).
///
/// A stream registers an `end` action when it starts and unregisters when it stops; ending it
/// runs that action once (the feed then writes a last `revoked` event and closes). Thread-safe.
public final class OpenEventStreams: Sendable {
    /// One open stream, as the watcher sees it.
    public struct Stream: Sendable, Hashable {
        /// The registration's id.
        public var id: Int
        /// The record id of the operator token that opened it.
        public var tokenID: Int64
        /// That token's name, for logs.
        public var tokenName: String
    }

    private struct Entry {
        var stream: Stream
        var end: @Sendable () -> Void
    }

    private struct State {
        var nextID = 0
        var entries: [Int: Entry] = [:]
        var ended = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Records an open stream; call ``unregister(_:)`` with the returned id when it stops.
    package func register(tokenID: Int64, tokenName: String, end: @escaping @Sendable () -> Void) -> Int {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.entries[id] = Entry(stream: Stream(id: id, tokenID: tokenID, tokenName: tokenName), end: end)
            return id
        }
    }

    package func unregister(_ id: Int) {
        state.withLock { _ = $0.entries.removeValue(forKey: id) }
    }

    /// The streams open now.
    public var streams: [Stream] {
        state.withLock { $0.entries.values.map(\.stream).sorted { $0.id < $1.id } }
    }

    /// How many streams were ended because their token was revoked, since start.
    public var endedCount: Int { state.withLock { $0.ended } }

    /// Ends every open stream opened with one of `tokenIDs`. - Returns: the streams ended.
    @discardableResult
    public func end(tokenIDs: Set<Int64>) -> [Stream] {
        let ending = state.withLock { state -> [Entry] in
            let matching = state.entries.values.filter { tokenIDs.contains($0.stream.tokenID) }
            for entry in matching { state.entries.removeValue(forKey: entry.stream.id) }
            state.ended += matching.count
            return matching
        }
        // Run outside the lock: ending finishes an AsyncStream, which may resume its reader.
        for entry in ending { entry.end() }
        return ending.map(\.stream).sorted { $0.id < $1.id }
    }
}
