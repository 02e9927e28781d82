import Synchronization

/// Bounds how long the writer waits for one PostgreSQL transaction, whether or not the
/// transaction notices that it was cancelled.
///
/// A task group would not do: it waits for every child, and a query on a connection the server
/// dropped mid-answer can hang past its cancellation. Here the first of "the body finished" and
/// "the deadline passed" answers the caller; on the deadline the body's task is cancelled and
/// left to end on its own (it holds one pooled connection until then), so a stuck database call
/// never holds back the publishers' completions.
///
/// A transaction cut short this way may still have committed (its `COMMIT` answer was late):
/// the group is then reported failed although stored, which is safe, since a retry stores
/// nothing twice. The reverse, success for what was not stored, cannot happen.
enum CommitDeadline {
    /// Runs `body`, answering its result or, once `timeout` has passed on `ContinuousClock`
    /// (it bounds I/O, it decides nothing a test observes), ``SampleStoreError`` `unavailable`.
    static func run<T: Sendable>(
        within timeout: Duration,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let race = Race(continuation)
            let work = Task {
                do {
                    race.finish(.success(try await body()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            race.setTimer(
                Task {
                    guard (try? await ContinuousClock().sleep(for: timeout)) != nil else { return }
                    let timedOut = race.finish(
                        .failure(
                            SampleStoreError(code: .unavailable, message: "no answer from PostgreSQL within \(timeout)")
                        )
                    )
                    if timedOut { work.cancel() }
                }
            )
        }
    }

    /// Resumes its continuation once, with the first result, and then stops the timer.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var timer: Task<Void, Never>?
        }
        private let state: Mutex<State>

        init(_ continuation: CheckedContinuation<T, any Error>) {
            state = Mutex(State(continuation: continuation))
        }

        /// Answers `result` unless an answer was given; returns whether this one was first.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let (continuation, timer) = state.withLock { state in
                defer {
                    state.continuation = nil
                    state.timer = nil
                }
                return (state.continuation, state.timer)
            }
            timer?.cancel()
            continuation?.resume(with: result)
            return continuation != nil
        }

        /// Keeps the timer to stop it at the answer; stops it at once when the answer came first.
        func setTimer(_ timer: Task<Void, Never>) {
            let isAnswered = state.withLock { state in
                if state.continuation == nil { return true }
                state.timer = timer
                return false
            }
            if isAnswered { timer.cancel() }
        }
    }
}
