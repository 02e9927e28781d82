/// The recent samples of one series, for `rate(...)` and `avg/min/max(..., window)`.
///
/// Bounded twice: samples older than `span` are dropped, and at most `capacity` are kept (the
/// oldest go first), so a fast series cannot grow memory.
/// - Complexity: amortized O(1) per append; O(samples in window) per aggregate.
public struct SeriesWindow: Sendable {
    public private(set) var timestamps: [Int64] = []
    public private(set) var values: [Double] = []
    private var head = 0
    public var span: Int64
    public var capacity: Int

    public init(span: Int64, capacity: Int = 4096) {
        self.span = span
        self.capacity = capacity
    }

    /// The number of samples kept.
    public var count: Int { timestamps.count - head }

    public mutating func append(_ timestamp: Int64, _ value: Double) {
        if let last = timestamps.last, timestamp < last { return }  // out of order: ignored
        timestamps.append(timestamp)
        values.append(value)
        while head < timestamps.count, timestamps[head] < timestamp - span || count > capacity { head += 1 }
        if head > 1024, head * 2 > timestamps.count {
            timestamps.removeFirst(head)
            values.removeFirst(head)
            head = 0
        }
    }

    private func range(from start: Int64) -> Range<Int> {
        var low = head
        var high = timestamps.count
        while low < high {
            let mid = (low + high) / 2
            if timestamps[mid] < start { low = mid + 1 } else { high = mid }
        }
        return low..<timestamps.count
    }

    /// Change per second between the first and the last sample of the last `window` ms before `now`.
    public func rate(window: Int64, now: Int64) -> Double? {
        let r = range(from: now - window)
        guard r.count >= 2, let first = r.first, let last = r.last, timestamps[last] > timestamps[first] else {
            return nil
        }
        return (values[last] - values[first]) / (Double(timestamps[last] - timestamps[first]) / 1000)
    }

    /// The aggregate of the samples in the last `window` ms before `now`.
    public func aggregate(_ kind: WindowAggregate, window: Int64, now: Int64) -> Double? {
        let r = range(from: now - window)
        guard !r.isEmpty else { return nil }
        let slice = values[r]
        switch kind {
        case .avg: return slice.reduce(0, +) / Double(slice.count)
        case .min: return slice.min()
        case .max: return slice.max()
        }
    }
}
