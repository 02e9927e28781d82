import ReflexNode
import Synchronization

/// Counts of the `POST /api/v2/write` route since the API was built, shown by
/// `GET /api/v1/ingest/stats` under `http`.
public struct HTTPWriteCounters: Sendable, Equatable {
    /// Write requests whose samples were committed (204).
    public var requests = 0
    /// Samples those requests carried.
    public var samples = 0
    /// Write requests refused: bad line protocol, too large, bad encoding, store overloaded.
    public var rejectedRequests = 0

    /// Zeroed counters.
    public init() {}
}

/// The shared, locked ``HTTPWriteCounters`` of one ``HTTPAPI`` (copies of the API share it).
final class HTTPWriteCounterBox: Sendable {
    private let counters = Mutex(HTTPWriteCounters())

    var value: HTTPWriteCounters { counters.withLock { $0 } }

    func stored(samples: Int) {
        counters.withLock {
            $0.requests += 1
            $0.samples += samples
        }
    }

    func rejected() { counters.withLock { $0.rejectedRequests += 1 } }
}
