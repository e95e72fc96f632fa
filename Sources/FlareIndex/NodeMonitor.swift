#if canImport(Glibc)
import Glibc
#endif
import Atomics
import FlareNet

/// Watches one node (docs/cluster-membership.md) and delivers its `node sync` pushes, on a thread of its
/// own with one persistent connection, so a slow or dead node never delays the others.
///
/// The queue, the probe counters and `op` are guarded by `condition`; the thread is the only user
/// of the socket.
final class NodeMonitor: @unchecked Sendable {
    struct Push {
        let text: String
        let enqueuedAt: Int64
        let waiter: PushWaiter?
    }

    let id: Int
    let nodeKey: String
    let name: String
    let port: Int
    let threadType: Int
    let startedAt: Int64
    private unowned let coordinator: Coordinator
    private let condition = Condition()
    private var queue: [Push] = []
    private var stopped = false
    private var op = ""
    private var fd: Int32 = -1
    private var failures = 0
    /// The threshold was reached and reported; a fail-over may be waiting for the node's lease.
    private var reportedFailed = false
    static let retryMilliseconds = 200

    init(id: Int, name: String, port: Int, threadType: Int, coordinator: Coordinator) {
        self.id = id
        self.name = name
        self.port = port
        self.nodeKey = "\(name):\(port)"
        self.threadType = threadType
        self.coordinator = coordinator
        self.startedAt = ServerClock.systemNow()
    }

    func start() {
        let retained = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { arg in
            let monitor = Unmanaged<NodeMonitor>.fromOpaque(arg!).takeRetainedValue()
            monitor.run()
            return nil
        }, retained)
        pthread_detach(thread)
    }

    func stop() {
        condition.withLock { stopped = true }
        condition.signal()
    }

    func enqueue(_ text: String, waiter: PushWaiter? = nil) {
        condition.withLock { queue.append(Push(text: text, enqueuedAt: ServerClock.systemNow(), waiter: waiter)) }
        condition.signal()
    }

    /// For `stats threads`: current operation, queue length and the age of the oldest queued push.
    func snapshot(now: Int64) -> (op: String, queue: Int, behind: Int64) {
        condition.withLock { (op, queue.count, queue.first.map { max(0, now - $0.enqueuedAt) } ?? 0) }
    }

    private func run() {
        while true {
            let settings = coordinator.monitorSettings
            let next: Push? = condition.withLock {
                // After a miss, probe again soon rather than a whole interval later: a dead master
                // is then failed over in about one interval instead of `threshold` intervals.
                // While a reported master's take-over waits for its lease, probing at that pace too
                // gives an answering node the chance to keep its role.
                let soon = (failures > 0 && failures < settings.threshold) || reportedFailed
                let pause = soon ? min(settings.interval * 1000, Self.retryMilliseconds) : settings.interval * 1000
                if queue.isEmpty && !stopped { condition.wait(milliseconds: pause) }
                if stopped { return nil }
                if let push = queue.first {
                    queue.removeFirst()
                    op = "node_sync"
                    return push
                }
                op = "ping"
                return nil
            }
            if condition.withLock({ stopped }) { break }
            let ok: Bool
            if let push = next {
                ok = deliver(push.text, timeoutMilliseconds: max(settings.readTimeoutMilliseconds, 1000))
                push.waiter?.finish(ok)
            } else {
                ok = probe(timeoutMilliseconds: settings.readTimeoutMilliseconds)
            }
            condition.withLock { op = "" }
            account(ok, probed: next == nil, threshold: settings.threshold)
        }
        disconnect()
        // Anyone still waiting on a push learns it will not happen.
        let pending = condition.withLock { () -> [Push] in
            defer { queue.removeAll() }
            return queue
        }
        for push in pending { push.waiter?.finish(false) }
    }

    /// Counts consecutive failures; the threshold-th triggers a node-down event, the first success
    /// after that a node-up event (docs/cluster-membership.md), or, while the node is not down yet (its
    /// take-over waits for its lease to expire), calls the take-over off. A down node comes back
    /// only by answering a ping, as in the original: the push that tells it it is down is delivered
    /// at once, and counting that would undo an operator's `down` within milliseconds (so a
    /// `remove`, which needs the node down, could never follow it).
    private func account(_ ok: Bool, probed: Bool, threshold: Int) {
        let isDown = coordinator.isDown(nodeKey)
        if isDown {
            failures = max(failures, threshold)
            reportedFailed = false
            if ok && !probed { return }
        } else if failures >= threshold {
            failures = 0
        }
        if ok {
            if failures >= threshold {
                coordinator.nodeRecovered(nodeKey)
            } else if reportedFailed {
                coordinator.nodeAnswered(nodeKey)
            }
            reportedFailed = false
            failures = 0
        } else {
            failures += 1
            if failures == threshold {
                reportedFailed = true
                coordinator.nodeFailed(nodeKey)
            }
        }
    }

    private func probe(timeoutMilliseconds: Int) -> Bool {
        guard connectIfNeeded(timeoutMilliseconds: timeoutMilliseconds) else { return false }
        discardUnread()
        return exchange("ping\r\n", timeoutMilliseconds: timeoutMilliseconds) == "OK"
    }

    private func deliver(_ text: String, timeoutMilliseconds: Int) -> Bool {
        guard connectIfNeeded(timeoutMilliseconds: timeoutMilliseconds) else { return false }
        discardUnread()
        return exchange(text, timeoutMilliseconds: timeoutMilliseconds) == "OK"
    }

    private func connectIfNeeded(timeoutMilliseconds: Int) -> Bool {
        if fd >= 0 { return true }
        guard let socket = LineClient.connect(host: name, port: port, timeoutMilliseconds: timeoutMilliseconds,
                                                from: coordinator.monitorSourceAddress) else {
            return false
        }
        fd = socket
        return true
    }

    private func exchange(_ request: String, timeoutMilliseconds: Int) -> String? {
        LineClient.setTimeout(fd, milliseconds: timeoutMilliseconds)
        guard LineClient.send(fd, request), let line = LineClient.readLine(fd) else {
            disconnect()
            return nil
        }
        return line
    }

    /// Late replies of a timed-out request must not be taken for the next answer.
    private func discardUnread() { LineClient.discardUnread(fd) }

    private func disconnect() {
        if fd >= 0 { close(fd); fd = -1 }
    }
}
