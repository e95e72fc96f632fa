#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Dispatch
import FlareCluster
import FlareNet
import Logging

/// The index server's authority over the node map: every change runs as one "coordinator
/// operation" under `lock` (apply to a copy, persist with a new version, then publish), followed
/// by the pushes to the nodes. It also owns the node monitors.
///
/// Any thread may call in: request workers (admin commands), monitor threads (down/up events, which
/// run on `events`, a serial queue, so a monitor never waits for the lock while holding its own).
final class Coordinator: @unchecked Sendable {
    struct MonitorSettings {
        var threshold: Int
        var interval: Int
        var readTimeoutMilliseconds: Int
    }

    private let lock = Lock()
    private var state: IndexState
    private let file: MapFile
    private let logger: Logger
    private var monitors: [String: NodeMonitor] = [:]
    private var settings: MonitorSettings
    private let events = DispatchQueue(label: "flarei.node-events")
    /// Ids for monitors, from the server's id space (`kill` takes either kind).
    var allocateID: () -> Int = { 0 }

    init(file: MapFile, settings: MonitorSettings, logger: Logger) throws(MapFile.Failure) {
        self.file = file
        self.settings = settings
        self.logger = logger
        state = try file.load()
        if let problem = state.layoutProblem() {
            logger.warning("node map loaded from \(file.path) is inconsistent: \(problem)")
        }
    }

    var monitorSettings: MonitorSettings {
        get { lock.withLock { settings } }
        set { lock.withLock { settings = newValue } }
    }

    var snapshot: IndexState { lock.withLock { state } }

    /// Starts watching every node of the loaded map.
    func startMonitoring() {
        let nodes = lock.withLock { state.map.entries }
        for node in nodes { startMonitor(for: node) }
    }

    func stopMonitoring() {
        let all = lock.withLock { () -> [NodeMonitor] in
            defer { monitors.removeAll() }
            return Array(monitors.values)
        }
        for monitor in all { monitor.stop() }
    }

    private func makeMonitor(for node: NodeEntry) -> NodeMonitor {
        NodeMonitor(id: allocateID(), name: node.name, port: node.port, threadType: node.threadType, coordinator: self)
    }

    private func startMonitor(for node: NodeEntry) {
        let monitor = makeMonitor(for: node)
        let previous = lock.withLock { () -> NodeMonitor? in
            defer { monitors[node.nodeKey] = monitor }
            return monitors[node.nodeKey]
        }
        previous?.stop()
        monitor.start()
    }

    /// Monitors in thread-type order, for `stats threads`.
    var monitorList: [NodeMonitor] {
        lock.withLock { monitors.values.sorted { ($0.threadType, $0.id) < ($1.threadType, $1.id) } }
    }

    /// `kill <id>` of a monitor thread: it stops watching its node until the index restarts.
    func killMonitor(id: Int) -> Bool {
        let found = lock.withLock { () -> NodeMonitor? in
            guard let entry = monitors.first(where: { $0.value.id == id }) else { return nil }
            monitors[entry.key] = nil
            return entry.value
        }
        found?.stop()
        return found != nil
    }

    func isDown(_ nodeKey: String) -> Bool {
        lock.withLock { state.map[nodeKey: nodeKey]?.state == .down }
    }

    // MARK: Operations

    /// Runs one node-map operation: on success the new map is saved (version + 1) and pushed.
    /// Returns the state after the operation, or the reason it failed.
    @discardableResult
    func perform(_ name: String, _ operation: (inout IndexState) throws(IndexCommandError) -> IndexChange) -> Result<IndexState, IndexCommandError> {
        // Monitors added or removed by the change are swapped in the same critical section as the
        // state: an operation that runs right after this one must find the new node's monitor,
        // or its push would silently skip that node (which would then keep an old map).
        var retired: [NodeMonitor] = []
        var added: NodeMonitor?
        let outcome = lock.withLock { () -> Result<(IndexState, IndexChange), IndexCommandError> in
            var next = state
            let change: IndexChange
            do throws(IndexCommandError) {
                change = try operation(&next)
            } catch {
                return .failure(error)
            }
            if change.save {
                next.version += 1
                do throws(MapFile.Failure) {
                    try file.save(next)
                } catch {
                    logger.error("\(name): \(error); the change is not applied")
                    return .failure(IndexCommandError(error.description))
                }
                if let problem = next.layoutProblem() { logger.warning("after \(name): \(problem)") }
            }
            state = next
            if let key = change.stopMonitor, let monitor = monitors.removeValue(forKey: key) {
                retired.append(monitor)
            }
            if let key = change.startMonitor, let node = next.map[nodeKey: key] {
                let monitor = makeMonitor(for: node)
                if let previous = monitors[key] { retired.append(previous) }
                monitors[key] = monitor
                added = monitor
            }
            return .success((next, change))
        }
        for monitor in retired { monitor.stop() }
        added?.start()
        switch outcome {
        case .failure(let error):
            logger.info("\(name) refused: \(error)")
            return .failure(error)
        case .success(let (newState, change)):
            if change.save {
                logger.notice("\(name): node map version \(newState.version)")
                push(newState, change)
            }
            return .success(newState)
        }
    }

    /// `node add`. A node listed as live that registers again restarted before its monitor noticed
    /// (`IndexState.addNode` fails it over and readmits it); logged, as no monitor event explains
    /// the change.
    func addNode(name: String, port: Int) -> Result<IndexState, IndexCommandError> {
        var before: NodeEntry?
        let outcome = perform("node add \(name) \(port)") { (state: inout IndexState) throws(IndexCommandError) in
            before = state.map[name: name, port: port]
            return try state.addNode(name: name, port: port)
        }
        if let before, before.state != .down, case .success(let after) = outcome, let now = after.map[name: name, port: port] {
            logger.warning("\(before.nodeKey) registered again while listed as \(before.role.name)/\(before.state.name): its process restarted, so it was taken down and readmitted as \(now.role.name)/\(now.state.name)")
        }
        return outcome
    }

    /// `node sync` to every node (index-server.md §4): priority nodes first, each waited for, then all.
    private func push(_ state: IndexState, _ change: IndexChange) {
        let text = "node sync \(state.version)\r\n" + state.map.nodeLines + "END\r\n"
        let targets = lock.withLock { monitors }
        let wait = monitorSettings.readTimeoutMilliseconds + 1000
        for key in change.priority {
            guard let monitor = targets[key] else { continue }
            let waiter = PushWaiter()
            monitor.enqueue(text, waiter: waiter)
            if !waiter.wait(milliseconds: wait) { logger.warning("priority push of version \(state.version) to \(key) failed") }
        }
        for node in state.map.entries where node.nodeKey != change.skipPush {
            targets[node.nodeKey]?.enqueue(text)
        }
    }

    // MARK: Monitor events

    /// A node missed `monitor-threshold` probes: run the node-down procedure (fail-over).
    func nodeFailed(_ nodeKey: String) {
        events.async { [self] in
            logger.warning("\(nodeKey) does not answer: marking it down")
            perform("node down \(nodeKey)") { (state: inout IndexState) throws(IndexCommandError) in
                try state.nodeDown(nodeKey: nodeKey, shutdown: false)
            }
        }
    }

    /// A down node answers again: run the node-up procedure.
    func nodeRecovered(_ nodeKey: String) {
        events.async { [self] in
            logger.notice("\(nodeKey) answers again")
            perform("node up \(nodeKey)") { (state: inout IndexState) throws(IndexCommandError) in
                try state.nodeUp(nodeKey: nodeKey)
            }
        }
    }
}
