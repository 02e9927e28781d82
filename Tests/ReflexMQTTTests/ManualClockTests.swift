import ReflexTestSupport
import Synchronization
import Testing

/// A flag tasks can share.
private final class Flag: Sendable {
    private let storage = Atomic<Bool>(false)
    func set() { storage.store(true, ordering: .relaxed) }
    var isSet: Bool { storage.load(ordering: .relaxed) }
}

@Suite("ManualClock (test support)", .timeLimit(.minutes(1)))
struct ManualClockTests {
    @Test("a sleeper wakes when the clock reaches its deadline, not before")
    func wakesAtDeadline() async throws {
        let clock = ManualClock()
        let woken = Flag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await clock.sleep(for: .seconds(10))
                woken.set()
            }
            try await waitUntil { clock.sleepers == 1 }
            #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(10)))
            clock.advance(by: .seconds(9))
            #expect(clock.sleepers == 1)
            let wokenEarly = woken.isSet
            #expect(!wokenEarly)
            clock.advance(by: .seconds(1))
            try await group.waitForAll()
            let wokenAtDeadline = woken.isSet
            #expect(wokenAtDeadline)
            #expect(clock.sleepers == 0)
            #expect(clock.elapsed == .seconds(10))
        }
    }

    @Test("a deadline already passed returns at once")
    func pastDeadline() async throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(5))
        try await clock.sleep(until: ManualClock.Instant(offset: .seconds(5)))
        #expect(clock.sleepers == 0)
    }

    @Test("cancelling a sleeper throws CancellationError and removes it")
    func cancellation() async throws {
        let clock = ManualClock()
        let task = Task { try await clock.sleep(for: .seconds(1)) }
        try await waitUntil { clock.sleepers == 1 }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.sleepers == 0)
    }
}
