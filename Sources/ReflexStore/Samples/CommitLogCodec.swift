import Foundation
import ReflexCore

/// The binary form of a logged batch's samples in `commit_log.samples`.
///
/// Version 1, little-endian: one byte `1`, a `UInt32` sample count, then per sample a `UInt16`
/// metric length, the metric's UTF-8 bytes, the timestamp (`Int64`) and the value's IEEE 754
/// bits (`UInt64`). About 26 bytes a sample for a 10-byte metric name.
enum CommitLogCodec {
    static let version: UInt8 = 1

    /// What of `batch` goes to the commit log: the batch without samples of the node's own
    /// series (``ReflexCore/ReservedMetricNames``); nil when nothing is left.
    static func loggable(_ batch: TelemetryBatch) -> TelemetryBatch? {
        guard batch.samples.contains(where: { ReservedMetricNames.isReserved($0.metric) }) else { return batch }
        var logged = batch
        logged.samples.removeAll { ReservedMetricNames.isReserved($0.metric) }
        return logged.samples.isEmpty ? nil : logged
    }

    /// The samples of `batch` as stored.
    static func encode(_ samples: [Sample]) -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(5 + samples.count * 32)
        bytes.append(version)
        append(UInt32(truncatingIfNeeded: samples.count), to: &bytes)
        for sample in samples {
            let name = Array(sample.metric.rawValue.utf8)
            append(UInt16(truncatingIfNeeded: name.count), to: &bytes)
            bytes += name
            append(UInt64(bitPattern: sample.timestamp), to: &bytes)
            append(sample.value.bitPattern, to: &bytes)
        }
        return Data(bytes)
    }

    /// Reads back what ``encode(_:)`` wrote.
    /// - Throws: ``SampleStoreError`` `database` naming the entry's `sequence` and the byte offset
    ///   when the data is cut short, of another version, or names an invalid metric.
    static func decode(_ data: Data, sequence: Int64) throws -> [Sample] {
        let bytes = [UInt8](data)
        var offset = 0
        func fail(_ what: String) -> SampleStoreError {
            SampleStoreError(
                code: .database,
                message: "commit log entry \(sequence): \(what) at byte \(offset) of \(bytes.count)"
            )
        }
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= bytes.count else { throw fail("data cut short") }
            var value: T = 0
            for index in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
            offset += size
            return value
        }
        guard let first = bytes.first else { throw fail("empty entry") }
        guard first == version else { throw fail("unknown format version \(first)") }
        offset = 1
        let count = Int(try read(UInt32.self))
        // Each sample takes at least 18 bytes: a count larger than that is corrupt, not a reason
        // to reserve gigabytes.
        guard count <= (bytes.count - offset) / 18 else { throw fail("sample count \(count) too large") }
        var samples: [Sample] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let length = Int(try read(UInt16.self))
            guard offset + length <= bytes.count else { throw fail("metric name cut short") }
            let name = String(decoding: bytes[offset..<offset + length], as: UTF8.self)
            guard let metric = try? MetricName(validating: name) else { throw fail("invalid metric name '\(name)'") }
            offset += length
            let timestamp = Int64(bitPattern: try read(UInt64.self))
            let value = Double(bitPattern: try read(UInt64.self))
            samples.append(Sample(metric: metric, timestamp: timestamp, value: value))
        }
        return samples
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for index in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}
