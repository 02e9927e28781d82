import Foundation
import ReflexCore
import ReflexStore
import ReflexTestSupport
import Testing

/// The contract's detection, commit-log, dead-letter, device-state and retention roles.
extension SampleStoreContractTests {
    static let logging = ContractSettings(logsCommits: true)
    static let start: Int64 = 1_764_145_200_000
    static let day: Int64 = 86_400_000

    static func logBatch(_ device: String, _ index: Int) throws -> TelemetryBatch {
        try F.batch(
            device,
            "vibration",
            [(start + Int64(index) * 1_000, Double(index)), (start + Int64(index) * 1_000 + 1, 0.5)]
        )
    }

    // MARK: - Commit log

    @Test(
        "the commit log returns every batch in commit order, paged, without reserved series",
        arguments: StoreKind.available
    )
    func commitLog(kind: StoreKind) async throws {
        try await C.withStore(kind, settings: Self.logging) { store in
            let batches = try (0..<25).map { try Self.logBatch("pump-\($0 % 3)", $0) }
            for batch in batches { try await store.append(batch) }
            #expect(store.lastCommittedSequence == 25)
            var all: [CommittedBatch] = []
            var after: Int64 = 0
            while after < 25 {
                let page = try await store.commitLogPage(after: after, through: 25, limit: 10)
                #expect(page.unreadable.isEmpty)
                all += page.entries
                after = try #require(page.lastSequence)
            }
            #expect(all.map(\.sequence) == Array(1...25))
            #expect(all.map(\.batch) == batches)
            #expect(all.allSatisfy { $0.committedAt == C.wallClock })

            let device = try F.device("pump-1")
            let score = try F.metric("anomaly:vibration")
            let raw = try F.metric("vibration")
            try await store.append(
                TelemetryBatch(device: device, samples: [Sample(metric: score, timestamp: 1, value: 0.1)])
            )
            #expect(store.lastCommittedSequence == 25)
            try await store.append(
                TelemetryBatch(
                    device: device,
                    samples: [
                        Sample(metric: score, timestamp: 2, value: 0.1), Sample(metric: raw, timestamp: 2, value: 4),
                    ]
                )
            )
            let last = try await store.commitLogPage(after: 25, through: 100, limit: 10)
            #expect(last.entries.map(\.batch.samples) == [[Sample(metric: raw, timestamp: 2, value: 4)]])
        }
    }

    @Test(
        "the feed holds what fits, counts the rest, and the log still has every entry",
        arguments: StoreKind.available
    )
    func commitFeed(kind: StoreKind) async throws {
        try await C.withStore(kind, settings: Self.logging) { store in
            let feed = store.commitFeed(bufferSize: 3)
            for index in 0..<10 { try await store.append(try Self.logBatch("pump-1", index)) }
            #expect(feed.take().map(\.sequence) == [1, 2, 3])
            #expect(feed.droppedCount == 7)
            let page = try await store.commitLogPage(after: 3, through: store.lastCommittedSequence, limit: 100)
            #expect(page.entries.map(\.sequence) == Array(4...10))
            try await store.append(try Self.logBatch("pump-1", 10))
            #expect(feed.take().map(\.sequence) == [11])
        }
    }

    @Test(
        "trimming deletes through a sequence; numbers are never reused, also after reopening",
        arguments: StoreKind.available
    )
    func trimAndReopen(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            try await C.withStore(at: location, settings: Self.logging) { store in
                for index in 0..<12 { try await store.append(try Self.logBatch("pump-1", index)) }
                #expect(try await store.trimCommitLog(through: 5) == 5)
                let rest = try await store.commitLogPage(after: 0, through: 100, limit: 100)
                #expect(rest.entries.map(\.sequence) == Array(6...12))
                #expect(try await store.trimCommitLog(through: 12) == 7)
            }
            try await C.withStore(at: location, settings: Self.logging) { store in
                #expect(store.lastCommittedSequence == 12)
                try await store.append(try Self.logBatch("pump-1", 20))
                #expect(store.lastCommittedSequence == 13)
                let page = try await store.commitLogPage(after: 0, through: 100, limit: 100)
                #expect(page.entries.map(\.sequence) == [13])
            }
            try await C.withStore(at: location) { store in
                // Without logsCommits the log is emptied and nothing is logged; numbers stay.
                try await store.append(try Self.logBatch("pump-1", 21))
                #expect(try await store.commitLogPage(after: 0, through: 100, limit: 100).entries.isEmpty)
                #expect(store.lastCommittedSequence == 13)
            }
        }
    }

    @Test(
        "a corrupt entry is reported with its sequence number and does not fail the page",
        arguments: StoreKind.available
    )
    func corruptEntry(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            try await C.withStore(at: location, settings: Self.logging) { store in
                for index in 0..<3 { try await store.append(try Self.logBatch("pump-1", index)) }
            }
            // As another process (or a bad disk) would: a count of 2^32 - 1 samples in 5 bytes.
            switch location {
            case .directory(let directory):
                let path = (directory as NSString).appendingPathComponent("samples.sqlite")
                try C.execute(in: path, sql: "UPDATE commit_log SET samples = x'01FFFFFFFF' WHERE seq = 2")
            case .postgres(let settings):
                try TemporaryPostgres.shared().psql(
                    "UPDATE commit_log SET samples = '\\x01ffffffff' WHERE seq = 2",
                    database: settings.database
                )
            }
            try await C.withStore(at: location, settings: Self.logging) { store in
                let page = try await store.commitLogPage(after: 0, through: 3, limit: 10)
                #expect(page.entries.map(\.sequence) == [1, 3])
                #expect(page.lastSequence == 3)
                let problem = try #require(page.unreadable.first)
                #expect(problem.code == .database)
                #expect(problem.message.contains("commit log entry 2"))
            }
        }
    }

    @Test("a reader opened beside a logging node leaves the commit log alone", arguments: StoreKind.available)
    func readerKeepsCommitLog(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            try await C.withStore(at: location, settings: Self.logging) { store in
                for index in 0..<3 { try await store.append(try Self.logBatch("pump-1", index)) }
                // As `reflex query` opens the samples: default settings, no writer.
                let (reader, database) = try await C.open(location)
                defer { database?.close() }
                #expect(reader.lastCommittedSequence == 3)
                let page = try await store.commitLogPage(after: 0, through: 3, limit: 10)
                #expect(page.entries.count == 3)
            }
        }
    }

    @Test("the detection cursor is saved with the checkpoints and survives reopening", arguments: StoreKind.available)
    func detectionCursor(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            let a = try F.key("pump-1", "vibration")
            let b = try F.key("pump-1", "temperature")
            try await C.withStore(at: location, settings: Self.logging) { store in
                #expect(try await store.loadDetectionCursor() == nil)
                #expect(try await store.loadDetectorCheckpoints().isEmpty)
                try await store.saveDetectorCheckpoints([a: Data("one".utf8), b: Data("two".utf8)], cursor: 7, at: 1)
                try await store.saveDetectorCheckpoints([a: Data("three".utf8)], at: 2)
                try await store.saveDetectorCheckpoints([:], cursor: 9, at: 3)
            }
            try await C.withStore(at: location, settings: Self.logging) { store in
                let cursor = try await store.loadDetectionCursor()
                let states = try await store.loadDetectorCheckpoints()
                #expect(cursor == 9)
                #expect(states == [a: Data("three".utf8), b: Data("two".utf8)])
            }
        }
    }

    // MARK: - Anomaly bands

    @Test("band rows read back raw and per bucket; unknown series are skipped", arguments: StoreKind.available)
    func bands(kind: StoreKind) async throws {
        try await C.withStore(kind) { store in
            let key = try F.key("pump-1", "vibration")
            let unknown = try F.key("pump-2", "vibration")
            try await store.append(
                F.batch("pump-1", "vibration", (0..<20).map { (Self.start + Int64($0) * 1_000, 1) })
            )
            let points: [AnomalyPoint] = (0..<20).map { (index: Int) -> AnomalyPoint in
                AnomalyPoint(
                    timestamp: Self.start + Int64(index) * 1_000,
                    value: Double(index),
                    score: index == 13 ? 0.9 : 0.1,
                    expected: Double(index),
                    lower: index == 3 ? nil : Double(index) - 1,
                    upper: Double(index) + 1
                )
            }
            var rows: [(series: SeriesKey, point: AnomalyPoint)] = points.map { (key, $0) }
            rows.append((unknown, points[0]))
            try await store.appendAnomalyPoints(rows)
            // A row at an existing (series, ts) replaces it.
            var replaced = points[19]
            replaced.score = 0.2
            try await store.appendAnomalyPoints([(key, replaced)])
            let raw = try await store.anomalyPoints(key, from: Self.start, to: Self.start + 20_000, limit: 100)
            #expect(raw == Array(points.dropLast()) + [replaced])
            #expect(try await store.anomalyPoints(key, from: Self.start, to: .max, limit: 5).count == 5)
            #expect(try await store.anomalyPoints(unknown, from: 0, to: .max, limit: 10).isEmpty)
            let buckets = try await store.anomalyBuckets(key, from: Self.start, to: Self.start + 20_000, step: 10_000)
            #expect(buckets.count == 2)
            #expect(buckets.last?.timestamp == Self.start + 10_000)
            #expect(buckets.last?.score == 0.9)
            #expect(buckets.last?.expected == 14.5)
            #expect(buckets.last?.lower == 9)
            #expect(buckets.last?.upper == 20)
            #expect(buckets.last?.value == 19)
            #expect(buckets.last?.count == 10)
            #expect(buckets.first?.lower == -1)

            let day = Self.day
            #expect(try await store.pruneAnomalyPoints(now: Self.start + 7 * day + 15_000) == 15)
            #expect(try await store.anomalyPoints(key, from: 0, to: .max, limit: 100).count == 5)
        }
    }

    // MARK: - Dead letters, device state

    @Test(
        "a dead letter keeps a bounded payload and its size; pages go backwards by id",
        arguments: StoreKind.available
    )
    func deadLetters(kind: StoreKind) async throws {
        try await C.withStore(kind, settings: ContractSettings(deadLetterPayloadLimit: 8)) { store in
            let device = try F.device("pump-7")
            for index in 0..<5 {
                try await store.recordDeadLetterDurably(
                    receivedAt: Self.start + Int64(index),
                    device: index == 0 ? nil : device,
                    topic: "t/\(index)",
                    reason: "bad \(index)",
                    payload: Array(repeating: UInt8(index), count: 3 + index * 3)
                )
            }
            let first = try await store.deadLetters(limit: 2, before: nil)
            #expect(first.map(\.topic) == ["t/4", "t/3"])
            #expect(first.first?.payload == Array(repeating: 4, count: 8))
            #expect(first.first?.payloadSize == 15)
            #expect(first.first?.device == device)
            let rest = try await store.deadLetters(limit: 10, before: first.last?.id)
            #expect(rest.map(\.topic) == ["t/2", "t/1", "t/0"])
            #expect(rest.last?.device == nil)
            #expect(rest.last?.payload == [0, 0, 0])
            #expect(rest.last?.receivedAt == Self.start)
            #expect(store.ingestStatistics().deadLettersCommitted == 5)
        }
    }

    @Test("device attributes and status are kept apart and survive reopening", arguments: StoreKind.available)
    func deviceState(kind: StoreKind) async throws {
        try await C.withLocation(kind) { location in
            let device = try F.device("pump-7")
            try await C.withStore(at: location) { store in
                #expect(try await store.deviceState(device) == nil)
                try await store.recordStatus(device: device, online: true, at: 10, reason: "connected")
                try await store.recordAttributes(device: device, json: #"{"fw":"1.2"}"#, at: 11)
                try await store.recordStatus(device: device, online: false, at: 12, reason: "will")
            }
            try await C.withStore(at: location) { store in
                let state = try await store.deviceState(device)
                #expect(
                    state
                        == DeviceState(
                            device: device,
                            attributes: #"{"fw":"1.2"}"#,
                            attributesAt: 11,
                            status: "offline",
                            statusAt: 12,
                            statusReason: "will"
                        )
                )
            }
        }
    }

    // MARK: - Retention

    @Test("retention deletes per resolution only what is older than its horizon", arguments: StoreKind.available)
    func retention(kind: StoreKind) async throws {
        let now = Self.start + 1_234_567  // not on an hour
        let settings = ContractSettings(retention: SampleRetention(batchSize: 3))
        try await C.withStore(kind, settings: settings) { store in
            let key = try F.key("pump-7", "temperature")
            let ages: [Int64] = [6 * Self.day, 8 * Self.day, 91 * Self.day, 6 * 365 * Self.day]
            for metric in ["temperature", "pressure"] {
                for age in ages {
                    let points = (0..<10).map { (now - age + Int64($0) * 1000, Double($0)) }
                    try await store.append(F.batch("pump-7", metric, points))
                }
            }
            for (topic, age) in [("old", 31 * Self.day), ("recent", 29 * Self.day)] {
                try await store.recordDeadLetterDurably(
                    receivedAt: now - age,
                    device: nil,
                    topic: topic,
                    reason: "r",
                    payload: []
                )
            }
            let report = try await store.applyRetention(now: now)
            #expect(report.rawSamples == 2 * 3 * 10)
            #expect(report.minuteBuckets == 2 * 2)
            #expect(report.hourBuckets == 2 * 1)
            #expect(report.deadLetters == 1)
            let all = try await store.rawRange(key, from: .min, to: .max, limit: 1000, cursor: nil)
            #expect(all.samples.map(\.timestamp) == (0..<10).map { now - 6 * Self.day + Int64($0) * 1000 })
            func count(_ step: Duration, age: Int64) async throws -> Int64 {
                let from = (now - age) / Self.day * Self.day
                return try await store.aggregate(key, from: from, to: from + Self.day, step: step).map(\.count)
                    .reduce(0, +)
            }
            #expect(try await count(.seconds(60), age: 8 * Self.day) == 10)
            #expect(try await count(.seconds(60), age: 91 * Self.day) == 0)
            #expect(try await count(.seconds(3600), age: 91 * Self.day) == 10)
            #expect(try await count(.seconds(3600), age: 6 * 365 * Self.day) == 0)
            #expect(try await store.deadLetters(limit: 10, before: nil).map(\.topic) == ["recent"])
            #expect(try await store.applyRetention(now: now) == RetentionReport())
        }
    }
}
