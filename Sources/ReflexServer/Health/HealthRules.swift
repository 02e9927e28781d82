import ReflexStore

/// The rules of `GET /health`: values in, a ``HealthReport`` out; no I/O, no clock.
///
/// - **store** (is it writable?): judged from the group commit itself rather than from a probe
///   write. Every QoS 1 message is a real write that must commit within milliseconds, so the
///   outcome of the latest commit is the freshest evidence there is, costs nothing, and writes no
///   row into the samples. `failing` when the latest commit attempt failed (QoS 1 telemetry is not
///   acknowledged then); `degraded` for ``recentFailureWindow`` after a failure the store has
///   recovered from; `ok` otherwise. The limit of this choice: an idle store that became
///   unwritable shows it at the first write, not before (nothing waits on it meanwhile).
/// - **ingest** (is the group-commit writer alive?): `failing` when samples wait and no commit
///   succeeded for ``writerStallAfter``.
/// - **broker** (is it accepting?): `failing` when a listener is not bound; `degraded` at
///   `mqtt.maxConnections` (new clients are refused).
/// - **detection** and **automation** (are the runners alive?): each beats from its periodic
///   loop; `failing` when the last beat is older than ``staleAfterBeats`` intervals, and at
///   least ``minimumStaleAfter`` (a checkpoint of many series may hold a loop for seconds; a
///   false `failing` would make a load balancer drain a working node), with ``startupGrace``
///   more before the first beat. Detection is also `degraded` while its lag exceeds
///   `detection.maxLag` (the rule `/health` had before).
public enum HealthRules {
    /// How long samples may wait with no successful commit before the writer counts as stuck.
    public static let writerStallAfter: Int64 = 10_000
    /// How long the store stays `degraded` after a failed commit it recovered from.
    public static let recentFailureWindow: Int64 = 60_000
    /// Missed beats after which a runner is stale.
    public static let staleAfterBeats = 5
    /// The shortest time without a beat that counts as stale.
    public static let minimumStaleAfter: Int64 = 30_000
    /// Time a runner has for its first beat, from the node's start, on top of the stale limit.
    public static let startupGrace: Int64 = 30_000

    /// Judges every part present in `inputs`.
    public static func evaluate(_ inputs: HealthInputs) -> HealthReport {
        var checks: [HealthCheckResult] = []
        if let store = inputs.store {
            checks.append(storeCheck(store, now: inputs.now))
            checks.append(writerCheck(store, now: inputs.now, startedAt: inputs.startedAt))
        }
        if let broker = inputs.broker { checks.append(brokerCheck(broker)) }
        if let detection = inputs.detection {
            var check = runnerCheck("detection", detection.runner, now: inputs.now, startedAt: inputs.startedAt)
            if check.state == .ok, let problem = detection.lagProblem {
                check = HealthCheckResult(part: "detection", state: .degraded, detail: problem)
            } else if check.state == .ok {
                check.detail += "; \(detection.batchesBehind) batches behind (\(Int(detection.secondsBehind)) s)"
            }
            checks.append(check)
        }
        if let automation = inputs.automation {
            checks.append(runnerCheck("automation", automation, now: inputs.now, startedAt: inputs.startedAt))
        }
        return HealthReport(checks: checks)
    }

    static func storeCheck(_ store: IngestStatistics, now: Int64) -> HealthCheckResult {
        let failures = "\(store.failedCommits) failed commits since start"
        if let failed = store.lastFailedCommitAt, failed > (store.lastCommitAt ?? .min) {
            return .init(
                part: "store",
                state: .failing,
                detail: "the last group commit failed \(seconds(now - failed)) s ago (\(failures)); "
                    + "QoS 1/2 telemetry is not acknowledged until a commit succeeds; see the node's log"
            )
        }
        if let failed = store.lastFailedCommitAt, now - failed < recentFailureWindow {
            return .init(
                part: "store",
                state: .degraded,
                detail:
                    "writable again: the last commit succeeded, one failed \(seconds(now - failed)) s ago (\(failures))"
            )
        }
        let last = store.lastCommitAt.map { "last commit \(seconds(now - $0)) s ago" } ?? "no commit yet"
        return .init(part: "store", state: .ok, detail: "\(last); \(failures)")
    }

    static func writerCheck(_ store: IngestStatistics, now: Int64, startedAt: Int64) -> HealthCheckResult {
        if store.lastCommitAt == nil, store.commits > 0 {
            // A backend that commits but does not report when cannot be judged; never a false alarm.
            return .init(
                part: "ingest",
                state: .ok,
                detail: "\(store.pendingSamples) samples pending (the store does not report commit times)"
            )
        }
        let since = store.lastCommitAt ?? startedAt
        if store.pendingSamples > 0, now - since > writerStallAfter {
            return .init(
                part: "ingest",
                state: .failing,
                detail:
                    "\(store.pendingSamples) samples wait and no group commit succeeded for \(seconds(now - since)) s"
            )
        }
        return .init(part: "ingest", state: .ok, detail: "\(store.pendingSamples) samples pending")
    }

    static func brokerCheck(_ broker: HealthInputs.Broker) -> HealthCheckResult {
        guard broker.isListening else {
            return .init(part: "broker", state: .failing, detail: "the MQTT listeners are not bound")
        }
        let use = "\(broker.connected) of mqtt.maxConnections \(broker.maxConnections) connections"
        if broker.connected >= broker.maxConnections {
            return .init(part: "broker", state: .degraded, detail: "full: \(use); new clients are refused")
        }
        return .init(part: "broker", state: .ok, detail: "accepting: \(use)")
    }

    static func runnerCheck(
        _ part: String,
        _ runner: HealthInputs.Runner,
        now: Int64,
        startedAt: Int64
    ) -> HealthCheckResult {
        let parts = runner.interval.components
        let interval = max(1, parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)
        let limit = max(interval * Int64(staleAfterBeats), minimumStaleAfter)
        guard let last = runner.lastBeat else {
            if now - startedAt > limit + startupGrace {
                return .init(part: part, state: .failing, detail: "its loop has not run since the node started")
            }
            return .init(part: part, state: .ok, detail: "starting")
        }
        if now - last > limit {
            return .init(
                part: part,
                state: .failing,
                detail: "its loop last ran \(seconds(now - last)) s ago (it runs every \(runner.interval))"
            )
        }
        return .init(part: part, state: .ok, detail: "its loop ran \(seconds(now - last)) s ago")
    }

    private static func seconds(_ milliseconds: Int64) -> Int64 { max(0, milliseconds) / 1000 }
}
