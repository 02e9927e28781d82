import CompressNIO
import Foundation
import HTTPTypes
import NIOCore
import ReflexCore
import Synchronization
import Testing

@testable import ReflexNode
@testable import ReflexServer

/// The HTTP write body's gzip path under random, concatenated, truncated and corrupted input:
/// every case must return or throw within a deadline, never spin (issue 12, item 2).
@Suite("WriteBody gzip fuzzing")
struct WriteBodyFuzzTests {
    static let limit = 1 << 20

    @Test("random bytes, with and without a gzip magic, return or throw in time")
    func randomBytes() throws {
        var random = SplitMix64(seed: 0x5EED_0001)
        for index in 0..<400 {
            var bytes = (0..<Int.random(in: 0...300, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            if index.isMultiple(of: 2) { bytes.insert(contentsOf: [0x1f, 0x8b, 0x08, 0x00], at: 0) }
            _ = try Self.inflateWithinDeadline(bytes, case: "random \(index)")
        }
    }

    @Test("1 to 4 concatenated members inflate to their concatenated texts")
    func concatenatedMembers() throws {
        var random = SplitMix64(seed: 0x5EED_0002)
        for index in 0..<60 {
            let texts = (0..<Int.random(in: 1...4, using: &random)).map { _ in Self.randomText(using: &random) }
            let body = try texts.flatMap(Self.gzip)
            let result = try Self.inflateWithinDeadline(body, case: "members \(index)")
            #expect(try result.get() == Array(texts.joined().utf8), "case members \(index)")
        }
    }

    @Test("bytes after the last member that start no member are refused with their offset")
    func trailingBytes() throws {
        var random = SplitMix64(seed: 0x5EED_0003)
        for index in 0..<60 {
            let members = try (0..<Int.random(in: 1...3, using: &random)).flatMap { _ in
                try Self.gzip(Self.randomText(using: &random))
            }
            var tail = (0..<Int.random(in: 1...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random)
            }
            if tail[0] == 0x1f { tail[0] = 0x4a }
            let result = try Self.inflateWithinDeadline(members + tail, case: "trailing \(index)")
            #expect(throws: GzipInflateError.trailingBytes(offset: members.count, count: tail.count)) {
                try result.get()
            }
        }
    }

    @Test("the issue's reproducer: one member then 'J' is refused naming the byte offset")
    func reproducer() throws {
        let member = try Self.gzip("x,device=pumpA v=1\n")
        let result = try Self.inflateWithinDeadline(member + Array("J".utf8), case: "reproducer")
        #expect(throws: GzipInflateError.trailingBytes(offset: member.count, count: 1)) { try result.get() }
        var body = ByteBuffer(bytes: member + Array("J".utf8))
        let error = #expect(throws: APIError.self) { try WriteBody.gunzip(&body, limit: Self.limit) }
        #expect(error?.status == .badRequest)
        #expect(error?.message.contains("at byte \(member.count) of the body") == true)
    }

    @Test("every truncation of a two-member stream throws, except at the end of the first member")
    func truncations() throws {
        let first = try Self.gzip("flow,device=pumpA rate=1\n")
        let second = try Self.gzip(String(repeating: "flow,device=pumpA rate=2\n", count: 50))
        let whole = first + second
        for length in 1..<whole.count {
            let result = try Self.inflateWithinDeadline(Array(whole[..<length]), case: "truncated at \(length)")
            if length == first.count {
                #expect(try result.get() == Array("flow,device=pumpA rate=1\n".utf8))
            } else if length == first.count + 1 {
                #expect(throws: GzipInflateError.trailingBytes(offset: first.count, count: 1)) { try result.get() }
            } else {
                #expect(throws: GzipInflateError.self, "truncated at \(length)") { try result.get() }
            }
        }
    }

    @Test("single flipped bytes in a member return or throw in time")
    func corruptions() throws {
        var random = SplitMix64(seed: 0x5EED_0004)
        let member = try Self.gzip(String(repeating: "temp,device=pumpA value=21.5\n", count: 40))
        for index in 0..<300 {
            var bytes = member
            bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            _ = try Self.inflateWithinDeadline(bytes, case: "flipped \(index)")
        }
    }

    @Test("a bomb stops at the limit, also when split over many members")
    func sizeBudget() throws {
        let big = try Self.gzip(String(repeating: "0", count: 2_000_000))
        let small = try Self.gzip(String(repeating: "0", count: 300_000))
        for body in [big, Array([[UInt8]](repeating: small, count: 8).joined())] {
            let result = try Self.inflateWithinDeadline(body, limit: 1 << 20, case: "bomb")
            // Compared as a value: a failing #expect(throws:) would print megabytes of output.
            #expect(result.map(\.count) == .failure(.tooLarge(limit: 1 << 20)))
        }
    }

    @Test("the time budget stops a body that takes too long")
    func timeBudget() throws {
        let body = try (0..<3).flatMap { _ in try Self.gzip(String(repeating: "a", count: 200_000)) }
        let inflater = GzipInflater(limit: Self.limit, timeBudget: .seconds(5), clock: SteppingClock(step: .seconds(1)))
        #expect(throws: GzipInflateError.timeBudgetExceeded(budget: .seconds(5))) {
            try inflater.inflate(ByteBuffer(bytes: body))
        }
    }

    // MARK: - Helpers

    static func gzip(_ text: String) throws -> [UInt8] {
        var buffer = ByteBuffer(string: text)
        let compressed = try buffer.compress(with: .gzip())
        return Array(compressed.readableBytesView)
    }

    static func randomText(using random: inout SplitMix64) -> String {
        let count = Int.random(in: 0...4_000, using: &random)
        return (0..<count).map { _ in "value=1.5,device=pumpA\n".randomElement(using: &random) ?? "x" }.map(String.init)
            .joined()
    }

    /// Inflates `bytes` on a thread of its own and waits at most 5 s: a spinning loop fails this
    /// case (and leaves one thread behind) instead of hanging the suite.
    static func inflateWithinDeadline(
        _ bytes: [UInt8],
        limit: Int = Self.limit,
        case name: String
    ) throws -> Result<[UInt8], GzipInflateError> {
        let outcome = Mutex<Result<[UInt8], GzipInflateError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let result = Result { () throws(GzipInflateError) -> [UInt8] in
                Array(try GzipInflater(limit: limit).inflate(ByteBuffer(bytes: bytes)).readableBytesView)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        thread.start()
        guard done.wait(timeout: .now() + 5) == .success, let result = outcome.withLock({ $0 }) else {
            Issue.record("case '\(name)' (\(bytes.count) bytes) did not finish within 5 s")
            throw DeadlineMissed()
        }
        return result
    }

    struct DeadlineMissed: Error {}
}

/// A clock whose every reading is `step` later than the one before, so a loop that reads it
/// runs out of any time budget after a known number of readings.
private struct SteppingClock: Clock {
    typealias Instant = ContinuousClock.Instant
    let step: Duration
    private let start = ContinuousClock.now
    private let readings = Readings()

    init(step: Duration) { self.step = step }

    var now: Instant {
        let count = readings.next()
        return start.advanced(by: step * count)
    }

    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await ContinuousClock().sleep(until: deadline, tolerance: tolerance)
    }
}

/// A shared reading count (the clock is a copyable value).
private final class Readings: Sendable {
    private let count = Mutex(0)

    func next() -> Int {
        count.withLock { value in
            value += 1
            return value
        }
    }
}
