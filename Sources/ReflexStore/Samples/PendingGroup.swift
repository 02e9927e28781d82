import ReflexCore

/// A dead letter waiting for the writer; its payload is already cut to the store's bound.
struct DeadLetterDraft: Sendable {
    var receivedAt: Int64
    var device: DeviceID?
    var topic: String
    var reason: String
    var payload: [UInt8]
    var payloadSize: Int
}

/// One unit of work for the group-commit writer, with the callback that acknowledges it.
struct PendingItem: Sendable {
    enum Work: Sendable {
        case batch(TelemetryBatch)
        case deadLetter(DeadLetterDraft)
    }

    var work: Work
    var completion: @Sendable (Result<Void, any Error>) -> Void

    /// What the item counts against the pending bound: its samples (at least 1).
    var weight: Int {
        switch work {
        case .batch(let batch): max(1, batch.samples.count)
        case .deadLetter: 1
        }
    }
}

/// The in-memory list of work not yet committed, guarded by the store's `Mutex`.
///
/// Bounded by `maxPendingSamples`: ``submit(_:weight:limit:)`` refuses work beyond it, so a
/// stalled disk turns into fast `overloaded` errors (and no PUBACK) instead of unbounded memory.
struct PendingGroup: Sendable {
    enum SubmitOutcome {
        /// Queued; `wakeWriter` when the list was empty (the writer may be idle).
        case queued(wakeWriter: Bool)
        case overloaded(pending: Int)
        case closed
    }

    private(set) var items: [PendingItem] = []
    private(set) var weight = 0
    private(set) var isClosed = false
    private(set) var rejected: Int64 = 0

    /// Appends `item` unless the store is closed or the bound would be exceeded.
    /// - Complexity: amortised O(1).
    mutating func submit(_ item: PendingItem, weight itemWeight: Int, limit: Int) -> SubmitOutcome {
        guard !isClosed else {
            rejected += 1
            return .closed
        }
        guard weight + itemWeight <= limit else {
            rejected += 1
            return .overloaded(pending: weight)
        }
        items.append(item)
        weight += itemWeight
        return .queued(wakeWriter: items.count == 1)
    }

    /// Counts a message refused before it reached the list (invalid samples).
    mutating func countRejection() { rejected += 1 }

    /// Takes everything pending, in enqueue order, leaving the list empty.
    /// - Complexity: O(1).
    mutating func drain() -> [PendingItem] {
        defer {
            items = []
            weight = 0
        }
        return items
    }

    /// Takes the oldest pending items, in enqueue order, up to `maxWeight` samples (always at
    /// least one item, however heavy), leaving the rest for the next group.
    /// - Complexity: O(items left).
    mutating func drain(upTo maxWeight: Int) -> [PendingItem] {
        guard weight > maxWeight else { return drain() }
        var taken = 0
        var count = 0
        for item in items {
            let itemWeight = item.weight
            if count > 0 && taken + itemWeight > maxWeight { break }
            taken += itemWeight
            count += 1
        }
        let group = Array(items.prefix(count))
        items.removeFirst(count)
        weight -= taken
        return group
    }

    /// Refuses all later submissions; what is pending stays for the last commit.
    mutating func close() { isClosed = true }
}
