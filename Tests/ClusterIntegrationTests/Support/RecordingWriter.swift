import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A background thread that keeps setting keys through one node and records, per key, the last
/// acknowledged value (`STORED`) and the values attempted after it whose outcome is unknown
/// (error reply or timeout: the write may or may not have been applied).
final class RecordingWriter: @unchecked Sendable {
    struct KeyRecord {
        var acked: String?
        var ackedAt: Double = 0
        /// Values sent after the last acknowledged one without an acknowledgement.
        var uncertain: [String] = []
    }

    struct Operation {
        let sent: Double
        let finished: Double
        let ok: Bool
        let reply: String
    }

    let host: String
    let port: Int
    let keys: [String]
    let options: String
    let pause: Double
    private let lock = NSLock()
    private var records: [String: KeyRecord] = [:]
    private var operations: [Operation] = []
    private var stopping = false
    private var finished = false
    private var thread: Thread?
    private var sequence = 0

    /// `keys`: the pool written round-robin; `options`: e.g. "sync"; `pause`: seconds between writes.
    init(host: String, port: Int, keys: [String], options: String = "", pause: Double = 0.002) {
        self.host = host
        self.port = port
        self.keys = keys
        self.options = options
        self.pause = pause
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "writer \(host):\(port)"
        self.thread = thread
        thread.start()
    }

    /// Stops the writer and waits for its thread to finish.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        _ = waitUntil(timeout: 30) {
            lock.lock()
            defer { lock.unlock() }
            return finished
        }
    }

    private var shouldStop: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func run() {
        var client: TestClient?
        var index = 0
        while !shouldStop {
            let key = keys[index % keys.count]
            index += 1
            lock.lock()
            sequence += 1
            let value = "\(key)=\(sequence)"
            lock.unlock()
            let sent = now()
            var reply = ""
            do {
                if client == nil { client = try TestClient(host: host, port: port, timeout: 5) }
                reply = try client!.store("set", key, value, flags: UInt32(sequence % 1000), options: options) ?? ""
            } catch {
                reply = "\(error)"
                client?.close()
                client = nil
            }
            let finishedAt = now()
            let ok = reply == "STORED"
            lock.lock()
            var record = records[key] ?? KeyRecord()
            if ok {
                record.acked = value
                record.ackedAt = finishedAt
                record.uncertain = []
            } else {
                record.uncertain.append(value)
            }
            records[key] = record
            operations.append(Operation(sent: sent, finished: finishedAt, ok: ok, reply: reply))
            lock.unlock()
            if !ok { usleep(20_000) } else if pause > 0 { usleep(UInt32(pause * 1_000_000)) }
        }
        client?.close()
        lock.lock()
        finished = true
        lock.unlock()
    }

    var snapshot: [String: KeyRecord] {
        lock.lock()
        defer { lock.unlock() }
        return records
    }

    var log: [Operation] {
        lock.lock()
        defer { lock.unlock() }
        return operations
    }

    var acknowledgedCount: Int { log.filter(\.ok).count }
    var failedCount: Int { log.filter { !$0.ok }.count }

    /// Waits until at least `count` more writes were acknowledged (or `timeout` passes).
    @discardableResult
    func waitForAcks(_ count: Int, timeout: Double = 10) -> Bool {
        let target = acknowledgedCount + count
        return waitUntil(timeout: timeout) { acknowledgedCount >= target }
    }

    /// Seconds from `since` until writes succeed again for good: the end of the first write that
    /// follows the last failed one. nil if writes never recovered.
    func recoveryTime(since: Double) -> (seconds: Double, failures: Int, firstFailure: String?)? {
        let after = log.filter { $0.finished >= since }
        let failures = after.filter { !$0.ok }
        guard let lastFailure = after.lastIndex(where: { !$0.ok }) else {
            return after.first(where: \.ok).map { ($0.finished - since, 0, nil) }
        }
        guard lastFailure + 1 < after.count else { return nil }
        return (after[lastFailure + 1].finished - since, failures.count, failures.first?.reply)
    }

    /// Checks every written key against `read` (value by key, nil = miss). Returns the problems:
    /// an acknowledged key whose value is neither its last acknowledged value nor a later
    /// attempted one, or a never-acknowledged key holding something not attempted.
    func verify(_ read: [String: String?]) -> [String] {
        var problems: [String] = []
        for (key, record) in snapshot.sorted(by: { $0.key < $1.key }) {
            let actual = read[key] ?? nil
            if let acked = record.acked {
                if actual != acked && !(actual.map { record.uncertain.contains($0) } ?? false) {
                    problems.append("\(key): expected \(acked)\(record.uncertain.isEmpty ? "" : " (or one of \(record.uncertain))"), got \(actual ?? "miss")")
                }
            } else if let actual, !record.uncertain.contains(actual) {
                problems.append("\(key): never acknowledged, holds unexpected \(actual)")
            }
        }
        return problems
    }

    var writtenKeys: [String] { snapshot.keys.sorted() }
}

extension TestClient {
    /// Reads `keys` with multi-gets of `batch` keys: value by key (nil = miss).
    func values(of keys: [String], batch: Int = 50) throws -> [String: String?] {
        var result: [String: String?] = [:]
        var index = 0
        while index < keys.count {
            let chunk = Array(keys[index..<min(index + batch, keys.count)])
            let items = try get(chunk)
            for key in chunk { result[key] = .some(items[key]?.value) }
            index += chunk.count
        }
        return result
    }
}
