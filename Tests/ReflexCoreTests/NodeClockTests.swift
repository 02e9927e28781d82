import ReflexCore
import ReflexTestSupport
import Testing

@Suite("NodeClock: one source of wall and monotonic time")
struct NodeClockTests {
    @Test("a manual node clock's wall time moves with the manual clock, and only with it")
    func manualWallTimeFollowsTheClock() async throws {
        let manual = ManualClock()
        let clock = NodeClock.manual(manual, startingAt: 1_700_000_000_000)
        #expect(clock.now() == 1_700_000_000_000)
        manual.advance(by: .milliseconds(1_500))
        #expect(clock.now() == 1_700_000_001_500)
        manual.advance(by: .seconds(60))
        #expect(clock.now() == 1_700_000_061_500)
    }

    @Test("sleeping on a manual node clock ends when the test advances it, not before")
    func sleepIsDrivenByTheTest() async throws {
        let manual = ManualClock()
        let clock = NodeClock.manual(manual, startingAt: 0)
        let sleeper = Task { try await clock.sleep(for: .seconds(10)) }
        while manual.sleepers == 0 { await Task.yield() }
        manual.advance(by: .seconds(9))
        #expect(manual.sleepers == 1)
        manual.advance(by: .seconds(1))
        try await sleeper.value
        #expect(manual.sleepers == 0)
        #expect(clock.now() == 10_000)
    }

    @Test("the system clock's wall time is the epoch time in milliseconds")
    func systemWallTime() {
        let before = NodeClock.systemMilliseconds()
        let now = NodeClock.system.now()
        #expect(now >= before && now - before < 60_000)
        #expect(now > 1_700_000_000_000)
    }
}
