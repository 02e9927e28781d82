import Testing

@testable import ReflexNode
@testable import ReflexServer

@Suite("Detection cursor: each commit-log entry once, gaps filled from the store")
struct DetectionCursorTests {
    @Test("the next entry is scored, older ones are duplicates, a jump is a gap to read first")
    func steps() {
        var cursor = DetectionCursor(position: 10)
        #expect(cursor.step(for: 11) == .next)
        #expect(cursor.step(for: 10) == .duplicate)
        #expect(cursor.step(for: 3) == .duplicate)
        #expect(cursor.step(for: 15) == .gap(after: 10, through: 14))
        cursor.advance(to: 14)
        #expect(cursor.step(for: 15) == .next)
    }

    @Test("the cursor never moves back, and never starts below 0")
    func monotonic() {
        var cursor = DetectionCursor(position: -5)
        #expect(cursor.position == 0)
        cursor.advance(to: 8)
        cursor.advance(to: 3)
        #expect(cursor.position == 8)
        #expect(cursor.behind(lastCommitted: 20) == 12)
        #expect(cursor.behind(lastCommitted: 5) == 0)
    }

    @Test("a replayed feed with duplicates and gaps yields each sequence number once, in order")
    func replay() {
        // What the consumer does: duplicates skipped, gaps read (here: from a perfect log).
        var cursor = DetectionCursor()
        var scored: [Int64] = []
        for sequence: Int64 in [1, 2, 2, 5, 3, 6, 10, 9, 11] {
            switch cursor.step(for: sequence) {
            case .duplicate: continue
            case .next: break
            case .gap(let after, let through):
                scored += Array(after + 1...through)
                cursor.advance(to: through)
            }
            scored.append(sequence)
            cursor.advance(to: sequence)
        }
        #expect(scored == Array(1...11))
    }

    @Test("lag: degraded only while entries wait longer than detection.maxLag")
    func lag() throws {
        let idle = DetectionLag(cursor: 9, lastCommitted: 9, secondsBehind: 0, isCatchingUp: false)
        #expect(idle.batchesBehind == 0 && idle.degradation(limit: .seconds(60)) == nil)
        let burst = DetectionLag(cursor: 9, lastCommitted: 5_009, secondsBehind: 12, isCatchingUp: true)
        #expect(burst.batchesBehind == 5_000 && burst.degradation(limit: .seconds(60)) == nil)
        let late = DetectionLag(cursor: 9, lastCommitted: 5_009, secondsBehind: 75, isCatchingUp: true)
        let reason = try #require(late.degradation(limit: .seconds(60)))
        #expect(reason.contains("75 s (5000 batches) behind"))
        #expect(reason.contains("detection.maxLag 60 s"))
    }
}
