import ReflexCore
import Testing

@testable import ReflexNode
@testable import ReflexServer

@Suite struct BroadcastTests {
    @Test("every subscriber gets every value in order") func fanOut() async {
        let broadcast = Broadcast<Int>()
        let first = broadcast.subscribe(bufferSize: 10)
        let second = broadcast.subscribe(bufferSize: 10)
        for value in 1...3 { broadcast.publish(value) }
        broadcast.finish()
        var a: [Int] = []
        for await value in first { a.append(value) }
        var b: [Int] = []
        for await value in second { b.append(value) }
        #expect(a == [1, 2, 3])
        #expect(b == [1, 2, 3])
        #expect(broadcast.droppedCount == 0)
    }

    @Test("a full buffer drops the newest values and counts them") func dropsCounted() async {
        let broadcast = Broadcast<Int>()
        let slow = broadcast.subscribe(bufferSize: 2)
        for value in 1...5 { broadcast.publish(value) }
        broadcast.finish()
        var got: [Int] = []
        for await value in slow { got.append(value) }
        #expect(got == [1, 2])
        #expect(broadcast.droppedCount == 3)
    }

    @Test("subscribing after finish gives a finished stream") func subscribeAfterFinish() async {
        let broadcast = Broadcast<Int>()
        broadcast.finish()
        broadcast.publish(1)
        var count = 0
        for await _ in broadcast.subscribe(bufferSize: 4) { count += 1 }
        #expect(count == 0)
        #expect(broadcast.subscriberCount == 0)
    }

    @Test(
        "subscribers that go away while values flow never deadlock the publisher",
        .timeLimit(.minutes(2))
    )
    func cancellationWhilePublishing() async {
        let broadcast = Broadcast<Int>()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for value in 0..<200_000 {
                    broadcast.publish(value)
                    if value % 1_000 == 0 { await Task.yield() }
                }
            }
            group.addTask {
                for _ in 0..<300 {
                    let stream = broadcast.subscribe(bufferSize: 8)
                    let reader = Task {
                        for await _ in stream {}
                    }
                    await Task.yield()
                    reader.cancel()
                    await reader.value
                }
            }
        }
        #expect(broadcast.subscriberCount == 0)
    }
}
