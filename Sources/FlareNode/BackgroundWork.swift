#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The owner of the node's background jobs that use the store (constructions with their store
/// writers, backlog catch-ups, reclaims): each runs on a named thread started here, can be told to
/// stop, and is waited for before the store closes (`stopAll`). A job checks `isStopping` between
/// batches; one blocked in I/O registers how to wake it (`whenStopping`, e.g. shutting its socket).
final class BackgroundWork: Sendable {
    final class Job: Sendable {
        let name: String
        fileprivate let id: UInt64
        fileprivate unowned let owner: BackgroundWork
        fileprivate let wake = Mutex<(@Sendable () -> Void)?>(nil)

        fileprivate init(name: String, id: UInt64, owner: BackgroundWork) {
            self.name = name
            self.id = id
            self.owner = owner
        }

        /// True once the node is shutting down: finish the current batch and return.
        var isStopping: Bool { owner.stopping.load(ordering: .acquiring) }

        /// Runs `action` when the node starts shutting down (at once if it already is), to wake a
        /// job blocked in I/O; nil removes it.
        func whenStopping(_ action: (@Sendable () -> Void)?) {
            wake.withLock { $0 = action }
            if let action, isStopping { action() }
        }
    }

    private let stopping = Atomic<Bool>(false)
    private let jobs = Mutex<(running: [UInt64: Job], next: UInt64)>(([:], 0))

    /// Names of the jobs running now (logs, tests).
    var running: [String] { jobs.withLock { $0.running.values.map(\.name).sorted() } }

    /// Runs `body` on a new thread, unless the node is shutting down (then returns false and
    /// `body` never runs).
    @discardableResult
    func spawn(_ name: String, _ body: @escaping @Sendable (Job) -> Void) -> Bool {
        guard let job = jobs.withLock({ state -> Job? in
            guard !stopping.load(ordering: .acquiring) else { return nil }
            state.next += 1
            let job = Job(name: name, id: state.next, owner: self)
            state.running[job.id] = job
            return job
        }) else { return false }
        let thread = Thread { [self] in
            body(job)
            _ = jobs.withLock { $0.running.removeValue(forKey: job.id) }
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
        return true
    }

    /// Tells every job to stop, wakes those blocked in I/O, and waits until all have returned or
    /// `timeout` seconds have passed; returns the names of jobs still running then.
    func stopAll(timeout: Double) -> [String] {
        stopping.store(true, ordering: .releasing)
        let all = jobs.withLock { Array($0.running.values) }
        for job in all { job.wake.withLock { $0 }?() }
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if jobs.withLock({ $0.running.isEmpty }) { return [] }
            usleep(10_000)
        }
        return running
    }
}
