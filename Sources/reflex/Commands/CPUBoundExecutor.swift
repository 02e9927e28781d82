import Dispatch

/// Runs CPU-bound work (`eval nab`, `bench detect`) on a thread of its own instead of Swift's
/// cooperative pool.
///
/// The pool has one thread per core. On a one-core machine (or under `taskset -c 0`) a loop that
/// never suspends holds its only thread, so the task that receives SIGINT and the graceful
/// shutdown that cancels the loop never run: the command ignores the signal. On this executor the
/// work still runs in its task, so `Task.isCancelled` in the loop sees the cancellation.
final class CPUBoundExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "reflex.cpu-bound")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    /// Runs `work` in the calling task, on this executor's thread.
    static func run<T: Sendable>(_ work: @Sendable () throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(CPUBoundExecutor()) { try work() }
    }
}
