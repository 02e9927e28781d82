import Foundation
import Logging
import ReflexCore
import ReflexMQTT
import ReflexNode
import ReflexServer
import ReflexStore
import Synchronization
import Testing

@Suite struct RevocationWatcherTests {
    @Test("credential references round-trip through ClientIdentity and are not part of its equality")
    func references() throws {
        let device = try DeviceID(validating: "pump-7")
        #expect(CredentialReference(identity: Self.pump) == .deviceToken(device: device, fingerprint: "aaaa"))
        #expect(CredentialReference(identity: Self.admin) == .operatorToken(id: 3))
        #expect(CredentialReference(identity: .anonymous) == nil)
        var rotated = Self.pump
        rotated.credential = CredentialReference.deviceToken(device: device, fingerprint: "bbbb").encoded
        #expect(rotated == Self.pump && rotated.hashValue == Self.pump.hashValue)
    }

    static let pump = ClientIdentity(
        principal: "pump-7",
        roles: ["device"],
        credential: "device-token:aaaa"  // CredentialReference.deviceToken(device: pump-7, fingerprint: "aaaa")
    )
    static let admin = ClientIdentity(
        principal: "operator:ops",
        roles: ["operator", "admin"],
        credential: CredentialReference.operatorToken(id: 3).encoded
    )
    static let pumpState = DeviceCredentialState(isEnabled: true, tokenFingerprint: "aaaa")
    static let opsToken = OperatorToken(id: 3, name: "ops", role: .admin, createdAt: .init(), isRevoked: false)

    private func watcher(
        _ registry: FakeCredentials,
        _ connections: FakeConnections,
        streams: OpenEventStreams? = nil,
        clock: WatcherTestClock = WatcherTestClock()
    ) -> RevocationWatcher {
        RevocationWatcher(
            registry: registry,
            connections: connections,
            streams: streams,
            clock: clock,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    @Test(
        "each change closes what it revokes, with 0x87 for a disabled device and 0x8C for a changed credential",
        arguments: [
            (DeviceCredentialState(isEnabled: false, tokenFingerprint: "aaaa"), ReasonCode.notAuthorized),
            (DeviceCredentialState(isEnabled: true, tokenFingerprint: "bbbb"), ReasonCode.badAuthenticationMethod),
            (nil, ReasonCode.notAuthorized),
        ] as [(DeviceCredentialState?, ReasonCode)]
    )
    func deviceChanges(state: DeviceCredentialState?, reason: ReasonCode) async throws {
        let registry = FakeCredentials(devices: ["pump-7": Self.pumpState], tokens: [3: Self.opsToken])
        let connections = FakeConnections([
            ConnectedClient(clientID: "p1", identity: Self.pump), ConnectedClient(clientID: "a1", identity: Self.admin),
        ])
        let watcher = watcher(registry, connections)
        var cursor = RevocationCursor()
        #expect(await watcher.poll(&cursor)?.disconnected == [])  // first poll: all valid
        #expect(await watcher.poll(&cursor)?.disconnected == [])  // the extra pass
        #expect(await watcher.poll(&cursor) == nil)  // nothing changed: no re-check
        registry.change { $0.devices["pump-7"] = state }
        let pass = try #require(await watcher.poll(&cursor))
        #expect(pass.disconnected.map(\.client.clientID) == ["p1"])
        #expect(connections.closed.map(\.reason) == [reason])
        #expect(connections.open.map(\.clientID) == ["a1"])
        #expect(watcher.statistics.values.disconnectedClients == 1)
    }

    @Test("a revoked operator token closes its MQTT connections and ends its event streams, not others")
    func operatorRevoked() async throws {
        let registry = FakeCredentials(
            devices: ["pump-7": Self.pumpState],
            tokens: [3: Self.opsToken, 4: Self.opsToken]
        )
        let connections = FakeConnections([
            ConnectedClient(clientID: "p1", identity: Self.pump), ConnectedClient(clientID: "a1", identity: Self.admin),
        ])
        let streams = OpenEventStreams()
        let ended = Mutex<[String]>([])
        _ = streams.register(tokenID: 3, tokenName: "ops") { ended.withLock { $0.append("ops") } }
        _ = streams.register(tokenID: 4, tokenName: "viewer") { ended.withLock { $0.append("viewer") } }
        let watcher = watcher(registry, connections, streams: streams)
        var cursor = RevocationCursor()
        _ = await watcher.poll(&cursor)
        registry.change { $0.tokens[3] = nil }
        let pass = try #require(await watcher.poll(&cursor))
        #expect(pass.disconnected.map(\.verdict) == [.operatorTokenRevoked])
        #expect(connections.closed.map(\.reason) == [.badAuthenticationMethod])
        #expect(pass.endedStreams.map(\.tokenName) == ["ops"])
        #expect(ended.withLock { $0 } == ["ops"])
        #expect(streams.streams.map(\.tokenID) == [4])
    }

    @Test("a connection accepted with old data during a re-check is caught by the next poll")
    func secondPass() async throws {
        let registry = FakeCredentials(devices: ["pump-7": Self.pumpState], tokens: [:])
        let connections = FakeConnections([])
        let watcher = watcher(registry, connections)
        var cursor = RevocationCursor()
        _ = await watcher.poll(&cursor)
        _ = await watcher.poll(&cursor)
        registry.change { $0.devices["pump-7"]?.isEnabled = false }
        #expect(await watcher.poll(&cursor)?.disconnected == [])  // nobody connected yet
        connections.add(ConnectedClient(clientID: "late", identity: Self.pump))  // CONNECT checked before the change
        #expect(await watcher.poll(&cursor)?.disconnected.map(\.client.clientID) == ["late"])
    }

    @Test("a registry error closes nothing and the check is retried")
    func registryError() async throws {
        let registry = FakeCredentials(devices: ["pump-7": Self.pumpState], tokens: [:])
        let connections = FakeConnections([ConnectedClient(clientID: "p1", identity: Self.pump)])
        let watcher = watcher(registry, connections)
        var cursor = RevocationCursor()
        _ = await watcher.poll(&cursor)
        _ = await watcher.poll(&cursor)
        registry.change {
            $0.devices["pump-7"]?.isEnabled = false
            $0.failing = true
        }
        #expect(await watcher.poll(&cursor) == nil)
        #expect(connections.closed.isEmpty)
        #expect(watcher.statistics.values.errors == 1)
        registry.change { $0.failing = false }
        #expect(await watcher.poll(&cursor)?.disconnected.count == 1)
    }

    @Test("anonymous clients and identities without a credential are never closed")
    func noCredential() async throws {
        let registry = FakeCredentials(devices: [:], tokens: [:])
        let connections = FakeConnections([
            ConnectedClient(clientID: "anon", identity: .anonymous),
            ConnectedClient(clientID: "old", identity: ClientIdentity(principal: "pump-7", roles: ["device"])),
        ])
        let watcher = watcher(registry, connections)
        var cursor = RevocationCursor()
        registry.change { _ in }
        #expect(await watcher.poll(&cursor)?.disconnected == [])
        #expect(connections.open.count == 2)
    }

    @Test("run() polls on the injected clock and stops on cancellation")
    func runsOnTheClock() async throws {
        let registry = FakeCredentials(devices: ["pump-7": Self.pumpState], tokens: [:])
        let connections = FakeConnections([ConnectedClient(clientID: "p1", identity: Self.pump)])
        let clock = WatcherTestClock()
        let watcher = watcher(registry, connections, clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await watcher.run() }
            await clock.waitForSleeper()
            clock.advance(by: .milliseconds(250))  // first poll: valid
            await clock.waitForSleeper()
            registry.change { $0.devices["pump-7"]?.isEnabled = false }
            #expect(connections.closed.isEmpty)  // not before the next tick
            clock.advance(by: .milliseconds(250))
            await clock.waitForSleeper()  // the poll after the change has finished
            #expect(connections.closed.map(\.reason) == [.notAuthorized])
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}

// MARK: - Fakes

/// A registry in memory whose generation moves on every ``change(_:)``.
final class FakeCredentials: CredentialRegistry {
    struct State {
        var generation: UInt64 = 1
        var devices: [String: DeviceCredentialState]
        var tokens: [Int64: OperatorToken]
        var failing = false
    }
    struct Unavailable: Error {}

    private let state: Mutex<State>

    init(devices: [String: DeviceCredentialState], tokens: [Int64: OperatorToken]) {
        state = Mutex(State(devices: devices, tokens: tokens))
    }

    func change(_ body: (inout State) -> Void) {
        state.withLock {
            body(&$0)
            $0.generation += 1
        }
    }

    private func current() throws -> State {
        let now = state.withLock { $0 }
        if now.failing { throw Unavailable() }
        return now
    }

    func changeGeneration() async throws -> UInt64 { try current().generation }
    func credentialState(of device: DeviceID) async throws -> DeviceCredentialState? {
        try current().devices[device.rawValue]
    }
    func allCredentialStates() async throws -> [DeviceID: DeviceCredentialState] {
        var states: [DeviceID: DeviceCredentialState] = [:]
        for (id, state) in try current().devices { states[try DeviceID(validating: id)] = state }
        return states
    }
    func currentOperatorToken(id: Int64) async throws -> OperatorToken? { try current().tokens[id] }
}

/// Connected clients in memory; closing one moves it to ``closed`` with its reason.
final class FakeConnections: RevocableConnections {
    private let state: Mutex<(open: [ConnectedClient], closed: [(client: ConnectedClient, reason: ReasonCode)])>

    init(_ clients: [ConnectedClient]) { state = Mutex((clients, [])) }

    var open: [ConnectedClient] { state.withLock { $0.open } }
    var closed: [(client: ConnectedClient, reason: ReasonCode)] { state.withLock { $0.closed } }
    func add(_ client: ConnectedClient) { state.withLock { $0.open.append(client) } }

    func connectedClientList() async throws -> [ConnectedClient] { open }

    func disconnectClients(
        reason: ReasonCode,
        reasonString: String,
        where shouldClose: @escaping @Sendable (ClientIdentity) -> Bool
    ) async throws -> [ConnectedClient] {
        state.withLock { state in
            let closing = state.open.filter { shouldClose($0.identity) }
            state.open.removeAll { shouldClose($0.identity) }
            state.closed += closing.map { ($0, reason) }
            return closing
        }
    }
}

/// A clock that moves only when the test calls ``advance(by:)``; ``waitForSleeper()`` returns
/// once someone is sleeping on it (so an advance is never lost).
final class WatcherTestClock: Clock, @unchecked Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
        var sleeperWaiters: [CheckedContinuation<Void, Never>] = []
    }

    // `@unchecked Sendable`: all state is behind this Mutex.
    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (resumeNow, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if Task.isCancelled || deadline <= state.now { return (true, []) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    let waiters = state.sleeperWaiters
                    state.sleeperWaiters = []
                    return (false, waiters)
                }
                if resumeNow {
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume()
                    }
                }
                for waiter in waiters { waiter.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Returns once at least one task sleeps on this clock.
    func waitForSleeper() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let sleeping = state.withLock { state -> Bool in
                if !state.sleepers.isEmpty { return true }
                state.sleeperWaiters.append(continuation)
                return false
            }
            if sleeping { continuation.resume() }
        }
    }

    /// Moves time forward and wakes the sleepers that are due.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for id in due.keys { state.sleepers.removeValue(forKey: id) }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
