import NIOCore
import Testing

@testable import ReflexNode
@testable import ReflexServer

@Suite("HTTP timeouts: header, body, and none while responding")
struct HTTPTimeoutStateMachineTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var machine = HTTPTimeoutStateMachine(headerTimeout: .seconds(10), bodyTimeout: .seconds(30))

    @Test("a connection that sends no head is closed at the header deadline, not before")
    mutating func headerTimeout() {
        #expect(machine.connected(at: start) == .schedule(start + .seconds(10)))
        #expect(machine.timerFired(at: start + .seconds(9)) == .schedule(start + .seconds(10)))
        #expect(machine.timerFired(at: start + .seconds(10)) == .close(.header))
    }

    @Test("a head moves the deadline to the body timeout; the request's end stops timing")
    mutating func bodyTimeout() {
        _ = machine.connected(at: start)
        #expect(machine.readHead(at: start + .seconds(1)) == .schedule(start + .seconds(31)))
        #expect(machine.timerFired(at: start + .seconds(31)) == .close(.body))
        #expect(machine.readEnd() == .cancel)
        #expect(machine.phase == .responding)
        #expect(machine.timerFired(at: start + .seconds(3600)) == .none)
    }

    @Test("a long response (the live feed) is never timed, and after it the idle timeout applies")
    mutating func streaming() {
        _ = machine.connected(at: start)
        _ = machine.readHead(at: start)
        _ = machine.readEnd()
        #expect(machine.timerFired(at: start + .hours(5)) == .none)
        #expect(machine.wroteEnd() == .none)
        #expect(machine.phase == .betweenRequests)
        #expect(machine.timerFired(at: start + .hours(6)) == .none)
        #expect(machine.readHead(at: start + .hours(6)) == .schedule(start + .hours(6) + .seconds(30)))
    }

    @Test("on a kept-alive connection, the next request's first bytes start its header timeout")
    mutating func keptAlive() {
        _ = machine.connected(at: start)
        #expect(machine.bytesArrived(at: start + .seconds(1)) == .none)  // the first head's deadline stays
        _ = machine.readHead(at: start + .seconds(2))
        #expect(machine.bytesArrived(at: start + .seconds(3)) == .none)  // body bytes
        _ = machine.readEnd()
        _ = machine.wroteEnd()
        let later = start + .seconds(100)
        #expect(machine.bytesArrived(at: later) == .schedule(later + .seconds(10)))
        #expect(machine.timerFired(at: later + .seconds(10)) == .close(.header))
    }

    @Test("an end without a head, or a response end while reading, changes nothing")
    mutating func outOfOrder() {
        _ = machine.connected(at: start)
        #expect(machine.readEnd() == .none)
        #expect(machine.wroteEnd() == .none)
        #expect(machine.phase == .awaitingHead(deadline: start + .seconds(10)))
    }
}

@Suite("HTTP connection cap")
struct HTTPConnectionCountersTests {
    @Test("admits up to the limit, refuses past it, logs once per interval with the count")
    func cap() {
        let counters = HTTPConnectionCounters(logInterval: .seconds(10))
        let now = NIODeadline.uptimeNanoseconds(5_000_000_000)
        #expect(counters.admit(limit: 2, at: now) == .admitted)
        #expect(counters.admit(limit: 2, at: now) == .admitted)
        #expect(counters.admit(limit: 2, at: now) == .refused(logRefusals: 1))
        #expect(counters.admit(limit: 2, at: now + .seconds(1)) == .refused(logRefusals: nil))
        #expect(counters.admit(limit: 2, at: now + .seconds(2)) == .refused(logRefusals: nil))
        #expect(counters.admit(limit: 2, at: now + .seconds(10)) == .refused(logRefusals: 3))
        counters.closed()
        #expect(counters.admit(limit: 2, at: now + .seconds(11)) == .admitted)
        let statistics = counters.statistics
        #expect(statistics.open == 2 && statistics.accepted == 3 && statistics.refusedOverLimit == 4)
    }
}
