import Foundation
import ReflexCore
import ReflexStore
import ReflexTestSupport
import Testing

/// The contract every sample store keeps, run against each backend (``StoreKind``): the same
/// calls, the same answers.
@Suite("Sample store contract: SQLite and PostgreSQL give the same answers", .timeLimit(.minutes(2)))
struct SampleStoreContractTests {
    typealias F = SampleStoreFixtures
    typealias C = SampleStoreContract
    static let hour: Int64 = 3_600_000
    static let origin: Int64 = 1_764_140_400_000  // an exact hour

    // MARK: - Writes

    @Test("the same batch twice is stored once and counted once by the rollups", arguments: StoreKind.available)
    func idempotence(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            let key = try F.key("pump-7", "temperature")
            let batch = try F.batch("pump-7", "temperature", [(60_000, 1), (60_500, 5), (61_000, 3)])
            try await store.append(batch)
            try await store.append(batch)
            let raw = try await store.rawRange(key, from: 0, to: Self.hour, limit: 100, cursor: nil)
            #expect(raw.samples.map(\.timestamp) == [60_000, 60_500, 61_000])
            let minute = try await store.aggregate(key, from: 60_000, to: 120_000, step: .seconds(60))
            #expect(minute == [AggregatePoint(start: 60_000, min: 1, max: 5, sum: 9, count: 3, last: 3)])
            let hour = try await store.aggregate(key, from: 0, to: Self.hour, step: .seconds(3600))
            #expect(hour == [AggregatePoint(start: 0, min: 1, max: 5, sum: 9, count: 3, last: 3)])
            // Redelivered samples still count as committed messages.
            #expect(store.ingestStatistics().samplesCommitted == 6)
            #expect(store.ingestStatistics().messagesCommitted == 2)
        }
    }

    @Test(
        "an overwrite replaces the value in raw and both rollups; a late sample keeps `last`",
        arguments: StoreKind.available
    )
    func overwrite(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            let key = try F.key("pump-7", "temperature")
            try await store.append(F.batch("pump-7", "temperature", [(60_000, 1), (60_500, 5), (61_000, 3)]))
            try await store.append(F.batch("pump-7", "temperature", [(60_500, 2)]))  // max 5 goes away
            let minute = try await store.aggregate(key, from: 60_000, to: 120_000, step: .seconds(60))
            #expect(minute == [AggregatePoint(start: 60_000, min: 1, max: 3, sum: 6, count: 3, last: 3)])
            let hour = try await store.aggregate(key, from: 0, to: Self.hour, step: .seconds(3600))
            #expect(hour == [AggregatePoint(start: 0, min: 1, max: 3, sum: 6, count: 3, last: 3)])
            try await store.append(F.batch("pump-7", "temperature", [(59_999, 100)]))  // earlier minute
            let late = try await store.aggregate(key, from: 0, to: Self.hour, step: .seconds(3600))
            #expect(late == [AggregatePoint(start: 0, min: 1, max: 100, sum: 106, count: 4, last: 3)])
            let raw = try await store.rawRange(key, from: 60_500, to: 60_501, limit: 10, cursor: nil)
            #expect(raw.samples.map(\.value) == [2])
        }
    }

    @Test("a sample repeated within one group keeps its last value and counts once", arguments: StoreKind.available)
    func duplicateWithinGroup(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            let key = try F.key("pump-7", "temperature")
            try await store.append(F.batch("pump-7", "temperature", [(60_000, 1), (60_000, 4), (60_001, 2)]))
            let minute = try await store.aggregate(key, from: 60_000, to: 120_000, step: .seconds(60))
            #expect(minute == [AggregatePoint(start: 60_000, min: 2, max: 4, sum: 6, count: 2, last: 2)])
            #expect(store.latest(series: key)?.value == 2)
        }
    }

    @Test(
        "rollups equal a recomputation from raw, with redeliveries, overwrites and any order",
        arguments: StoreKind.available
    )
    func rollupsMatchRecomputation(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            var random = SplitMix64(seed: 42)
            let span = 3 * Self.hour
            var sent: [(Int64, Double)] = []
            for _ in 0..<30 {
                var batches: [TelemetryBatch] = []
                for _ in 0..<Int.random(in: 1...5, using: &random) {
                    var points: [(Int64, Double)] = []
                    for _ in 0..<Int.random(in: 1...30, using: &random) {
                        let roll = Int.random(in: 0..<10, using: &random)
                        let value = Double(Int.random(in: -400...400, using: &random)) / 4
                        if roll < 2, let old = sent.randomElement(using: &random) {
                            points.append(old)  // redelivery
                        } else if roll < 3, let old = sent.randomElement(using: &random) {
                            points.append((old.0, value))  // overwrite
                        } else {
                            points.append((Self.origin + Int64.random(in: 0..<span, using: &random), value))
                        }
                    }
                    sent += points
                    batches.append(try F.batch("pump-7", "temperature", points))
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for batch in batches { group.addTask { try await store.append(batch) } }
                    try await group.waitForAll()
                }
            }
            let key = try F.key("pump-7", "temperature")
            let raw = try await store.rawRange(
                key,
                from: Self.origin,
                to: Self.origin + span,
                limit: 100_000,
                cursor: nil
            )
            let stored = Dictionary(uniqueKeysWithValues: raw.samples.map { ($0.timestamp, $0.value) })
            #expect(Set(stored.keys) == Set(sent.map(\.0)))
            for (width, step) in [(60_000, Duration.seconds(60)), (Self.hour, .seconds(3600)), (30_000, .seconds(30))]
                as [(Int64, Duration)]
            {
                let points = try await store.aggregate(key, from: Self.origin, to: Self.origin + span, step: step)
                #expect(points == Self.reference(stored, width: width), "by \(step)")
            }
        }
    }

    @Test("many concurrent enqueues all complete and are all stored", arguments: StoreKind.available)
    func concurrency(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            let devices = 20
            let perDevice = 50
            try await withThrowingTaskGroup(of: Void.self) { group in
                for device in 0..<devices {
                    group.addTask {
                        for index in 0..<perDevice {
                            let points = (0..<10).map { (Int64(index * 10 + $0) * 1000, Double($0)) }
                            try await store.append(try F.batch("dev-\(device)", "m\(index % 3)", points))
                        }
                    }
                }
                try await group.waitForAll()
            }
            var total = 0
            for device in 0..<devices {
                for metric in 0..<3 {
                    let key = try F.key("dev-\(device)", "m\(metric)")
                    total += try await store.rawRange(key, from: 0, to: .max, limit: 10_000, cursor: nil).samples.count
                }
            }
            #expect(total == devices * perDevice * 10)
            let statistics = store.ingestStatistics()
            #expect(statistics.samplesCommitted == Int64(devices * perDevice * 10))
            #expect(statistics.messagesCommitted == Int64(devices * perDevice))
            #expect(statistics.failedCommits == 0)
            #expect(Set(store.seriesKeys()).count == devices * 3)
        }
    }

    @Test(
        "completions run in enqueue order, also when a backlog takes several transactions",
        arguments: StoreKind.available
    )
    func completionOrder(kind: StoreKind) async throws {
        try await C.withStore(kind, settings: ContractSettings(maxGroupSamples: 25)) { store in
            let order = LockedBox<[Int]>([])
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                for index in 0..<200 {
                    let finish: @Sendable (Result<Void, any Error>) -> Void = { result in
                        let count = order.withLock {
                            $0.append(result.isSuccess ? index : -1)
                            return $0.count
                        }
                        if count == 200 { done.resume() }
                    }
                    if index % 9 == 0 {
                        store.recordDeadLetter(
                            receivedAt: 1,
                            device: nil,
                            topic: "t",
                            reason: "r",
                            payload: [],
                            completion: finish
                        )
                    } else if let batch = try? F.batch(
                        "d\(index % 5)",
                        "m",
                        (0..<10).map { (Int64(index * 10 + $0), 1) }
                    ) {
                        store.enqueue(batch, completion: finish)
                    }
                }
            }
            #expect(order.value == Array(0..<200))
            if kind == .postgres { #expect(store.ingestStatistics().commits >= 200 * 10 / 25 / 2) }
        }
    }

    @Test("a value that is not finite is refused before it is queued", arguments: StoreKind.available)
    func invalidSample(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            let error = await #expect(throws: SampleStoreError.self) {
                try await store.append(try F.batch("pump-7", "temperature", [(1, .nan)]))
            }
            #expect(error?.code == .invalidSample)
            #expect(store.ingestStatistics().messagesRejected == 1)
            #expect(store.seriesKeys().isEmpty)
        }
    }

    @Test("over the pending bound, enqueue fails fast with overloaded", arguments: StoreKind.available)
    func backpressure(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            // The writer is not running: nothing drains the pending list.
            let (store, database) = try await C.open(location, settings: ContractSettings(maxPendingSamples: 25))
            defer { database?.close() }
            let outcomes = LockedBox<[SampleStoreError.Code?]>([])
            for index in 0..<3 {
                let points = (0..<10).map { (Int64(index * 10 + $0), 1.0) }
                store.enqueue(try F.batch("pump-7", "m", points)) { result in
                    if case .failure(let error) = result {
                        outcomes.withLock { $0.append((error as? SampleStoreError)?.code) }
                    }
                }
            }
            #expect(outcomes.value == [.overloaded])
            #expect(store.ingestStatistics().pendingSamples == 20)
            #expect(store.ingestStatistics().messagesRejected == 1)
        }
    }

    @Test("timestamps before 1970 fall into the right buckets", arguments: StoreKind.available)
    func beforeEpoch(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            let key = try F.key("pump-7", "temperature")
            try await store.append(F.batch("pump-7", "temperature", [(-1, 1), (-60_000, 2), (-60_001, 3), (0, 4)]))
            let minutes = try await store.aggregate(key, from: -120_000, to: 60_000, step: .seconds(60))
            #expect(minutes.map(\.start) == [-120_000, -60_000, 0])
            #expect(minutes.map(\.count) == [1, 2, 1])
            #expect(minutes.map(\.last) == [3, 1, 4])
            let hour = try await store.aggregate(key, from: -Self.hour, to: Self.hour, step: .seconds(3600))
            #expect(hour.map(\.start) == [-Self.hour, 0])
            #expect(hour.map(\.sum) == [6, 4])
        }
    }

    // MARK: - Reads

    @Test("raw pages follow the cursor to the end without gaps or repeats", arguments: StoreKind.available)
    func pagination(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            let key = try F.key("pump-7", "temperature")
            let points = (0..<1000).map { (Int64($0) * 1000, Double($0)) }
            try await store.append(F.batch("pump-7", "temperature", points))
            var seen: [Int64] = []
            var cursor: Int64?
            var pages = 0
            repeat {
                let page = try await store.rawRange(key, from: 5_000, to: 995_000, limit: 333, cursor: cursor)
                seen += page.samples.map(\.timestamp)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil
            #expect(seen == (5..<995).map { Int64($0) * 1000 })
            #expect(pages == 3)
            let error = await #expect(throws: SampleStoreError.self) {
                try await store.rawRange(key, from: 0, to: 10, limit: 0, cursor: nil)
            }
            #expect(error?.code == .invalidQuery)
            let unknown = try await store.rawRange(F.key("pump-8", "x"), from: 0, to: .max, limit: 10, cursor: nil)
            #expect(unknown.samples.isEmpty && unknown.nextCursor == nil)
        }
    }

    @Test("latest values and series survive reopening the store", arguments: StoreKind.available)
    func latestAfterReopen(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            try await C.withStore(at: location) { store in
                try await store.append(F.batch("pump-7", "temperature", [(Self.origin, 20), (Self.origin + 5, 21)]))
                try await store.append(F.batch("pump-7", "pressure", [(Self.origin + 2, 3)]))
                try await store.append(F.batch("pump-7", "pressure", [(Self.origin + 1, 9)]))  // late
            }
            try await C.withStore(at: location) { store in
                let device = try F.device("pump-7")
                let latest = store.latest(device: device)
                #expect(latest[try F.metric("temperature")]?.value == 21)
                #expect(latest[try F.metric("pressure")]?.value == 3)
                #expect(store.latest(series: try F.key("pump-7", "pressure"))?.timestamp == Self.origin + 2)
                let series = try await store.series(of: device)
                #expect(series.map(\.metric.rawValue) == ["pressure", "temperature"])
                #expect(series.map(\.firstTimestamp) == [Self.origin + 1, Self.origin])
                #expect(series.map(\.lastTimestamp) == [Self.origin + 2, Self.origin + 5])
                #expect(series.map(\.sampleCount) == [2, 2])
                #expect(try await store.series(of: F.device("nobody")).isEmpty)
            }
        }
    }

    // MARK: - Migrations

    @Test("opening a store twice migrates once and keeps the data", arguments: StoreKind.available)
    func reopenIsNoOp(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            for round in 0..<3 {
                try await C.withStore(at: location) { store in
                    let key = try F.key("pump-7", "temperature")
                    let before = try await store.rawRange(key, from: 0, to: .max, limit: 100, cursor: nil)
                    #expect(before.samples.count == round)
                    try await store.append(F.batch("pump-7", "temperature", [(Int64(round), 1)]))
                }
            }
        }
    }

    @Test("a database migrated by a newer build is refused, naming why", arguments: StoreKind.available)
    func newerSchemaRefused(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            switch location {
            case .directory(let directory):
                try await C.withStore(at: location) { _ in }
                let path = (directory as NSString).appendingPathComponent("samples.sqlite")
                try C.execute(in: path, sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
            case .postgres:
                let newer = PostgresSampleSchema.migrations + [PostgresMigration("samples v99: from the future", [])]
                try await C.withStore(at: location, migrations: newer) { _ in }
            }
            let error = await #expect(throws: (any Error).self) {
                _ = try await C.withStore(at: location) { _ in }
            }
            #expect(String(describing: error).contains("newer Reflex"))
        }
    }

    // MARK: - Reference

    /// Buckets of `stored` (ts → value) per `width`, computed the obvious way.
    static func reference(_ stored: [Int64: Double], width: Int64) -> [AggregatePoint] {
        var buckets: [Int64: [(Int64, Double)]] = [:]
        for (timestamp, value) in stored {
            let start = timestamp - ((timestamp % width) + width) % width
            buckets[start, default: []].append((timestamp, value))
        }
        return buckets.keys.sorted().map { start in
            let rows = (buckets[start] ?? []).sorted { $0.0 < $1.0 }
            let values = rows.map(\.1)
            return AggregatePoint(
                start: start,
                min: values.min() ?? 0,
                max: values.max() ?? 0,
                sum: values.reduce(0, +),
                count: Int64(values.count),
                last: rows.last?.1 ?? 0
            )
        }
    }
}
