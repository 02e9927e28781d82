import Foundation
import GRDB
import Logging
import ReflexCore
import ReflexStore
import Synchronization

/// A temp directory per test, removed afterwards, and helpers to build samples.
enum SampleStoreFixtures {
    static let logger = Logger(label: "ReflexStoreTests", factory: { _ in SwiftLogNoOpLogHandler() })

    static func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("reflex-samples-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(directory)
    }

    /// Opens a store in `directory`, runs its writer while `body` runs, then stops the writer
    /// (cancellation: the writer commits what is pending on the way out).
    static func withStore<T: Sendable>(
        in directory: String,
        configure: (inout SQLiteSampleStoreConfiguration) -> Void = { _ in },
        _ body: @Sendable (SQLiteSampleStore) async throws -> T
    ) async throws -> T {
        var configuration = SQLiteSampleStoreConfiguration(directory: directory)
        configure(&configuration)
        let store = try SQLiteSampleStore(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            do {
                let result = try await body(store)
                group.cancelAll()
                try await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// A fresh store in a fresh temp directory.
    static func withStore<T: Sendable>(
        configure: (inout SQLiteSampleStoreConfiguration) -> Void = { _ in },
        _ body: @Sendable (SQLiteSampleStore) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { directory in
            try await withStore(in: directory, configure: configure, body)
        }
    }

    static func device(_ raw: String) throws -> DeviceID { try DeviceID(validating: raw) }

    static func metric(_ raw: String) throws -> MetricName { try MetricName(validating: raw) }

    static func key(_ device: String, _ metric: String) throws -> SeriesKey {
        SeriesKey(device: try self.device(device), metric: try self.metric(metric))
    }

    static func batch(_ device: String, _ metric: String, _ points: [(Int64, Double)]) throws -> TelemetryBatch {
        let name = try self.metric(metric)
        return TelemetryBatch(
            device: try self.device(device),
            samples: points.map { Sample(metric: name, timestamp: $0.0, value: $0.1) }
        )
    }

    /// Reads with a separate connection, as another process would.
    static func count(in path: String, sql: String) throws -> Int {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }
}

/// A `Mutex` in a class, so that escaping completion closures can share it.
final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { withLock { $0 } }
}
