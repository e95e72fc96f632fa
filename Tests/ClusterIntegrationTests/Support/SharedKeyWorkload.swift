import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The kinds of operation the shared-key workload sends.
enum SharedOpKind: String, CaseIterable {
    case set, delete, append, incr, cas
}

/// What a client can tell about one operation from its reply.
enum SharedOpOutcome: String {
    /// STORED, DELETED, a number: the operation took effect (once) between send and reply.
    case acked
    /// NOT_STORED, NOT_FOUND, EXISTS: the operation did nothing.
    case refused
    /// SERVER_ERROR, timeout, lost connection, any other reply: it may or may not have taken
    /// effect, possibly even after the reply (a request still queued somewhere).
    case uncertain
}

/// One operation of the history. Times are seconds since the workload started.
struct SharedOp: CustomStringConvertible {
    let client: Int
    let kind: SharedOpKind
    let key: String
    /// set/cas: the new value; append: the token (sent as `,token`); incr: the reply number if acked.
    let value: String
    let via: String
    let sent: Double
    let replied: Double
    let outcome: SharedOpOutcome
    let reply: String

    /// The latest moment the operation can have taken effect: an uncertain one may still be applied
    /// after its client gave up on it.
    var effectEnd: Double { outcome == .uncertain ? .infinity : replied }

    var description: String {
        let what: String
        switch kind {
        case .set, .cas: what = "\(kind.rawValue) =\(value)"
        case .append: what = "append ,\(value)"
        case .delete: what = "delete"
        case .incr: what = "incr 1"
        }
        return String(format: "c%d %@ via %@ [%.3f, %.3f] %@ %@", client, what, via, sent, replied,
                      outcome.rawValue, String(reply.prefix(80)))
    }
}

/// Which node a client sends through; resolved again on every reconnect.
enum SharedTarget: String {
    case master, proxy
}

/// A small deterministic generator (SplitMix64): a printed seed reproduces each client's choices.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Several clients writing the SAME few keys through the master and through a proxy node, each
/// on its own connection, recording every operation's interval and outcome so that the final
/// cluster state can be checked against what a correct replicated store could produce.
///
/// Data keys `sk-<i>` take set, delete, append and cas; counter keys `ctr-<i>` are created once
/// (value 0) by `prepare()` and then only incremented by 1, so their history is a plain count.
final class SharedKeyWorkload: @unchecked Sendable {
    struct Configuration {
        var clients = 6
        var keys = 20
        var counters = 4
        var seed: UInt64 = UInt64(ProcessInfo.processInfo.environment["FLARE_FAULT_SEED"] ?? "") ?? UInt64.random(in: 1...999_999)
        /// Relative weights of the operations on data keys; incr goes to counter keys.
        var weights: [SharedOpKind: Int] = [.set: 3, .delete: 2, .append: 3, .incr: 2, .cas: 2]
        /// Receive timeout of a request; past it the outcome is uncertain. Longer than the 3–4 s
        /// pauses and cuts, so requests held by a stopped or cut-off master get its answer afterwards.
        var timeout = 5.0
        /// Pause between a client's operations, to leave the two shared cores some air.
        var pause = 0.002
        /// Upper bound of operations per client, so a run cannot grow without limit.
        var maxOpsPerClient = 100_000
        /// Clients that run inside a network namespace (by `ip netns` name), e.g. next to an
        /// isolated master; the others stay in the test's own.
        var clientNamespaces: [Int: String] = [:]
    }

    let configuration: Configuration
    let dataKeys: [String]
    let counterKeys: [String]
    private let resolve: (SharedTarget) -> (host: String, port: Int)?
    private let origin = now()
    private let lock = NSLock()
    private var operations: [SharedOp] = []
    private var stopping = false
    private var running = 0
    private var frozen: [String] = []

    /// `resolve` maps a target to the node to connect to (nil: none known right now).
    init(_ configuration: Configuration = Configuration(), resolve: @escaping (SharedTarget) -> (host: String, port: Int)?) {
        self.configuration = configuration
        self.resolve = resolve
        dataKeys = keyNames("sk-", configuration.keys)
        counterKeys = keyNames("ctr-", configuration.counters)
    }

    func time(_ absolute: Double) -> Double { absolute - origin }

    /// Creates the counters (value 0) through the master.
    func prepare() throws {
        guard let node = resolve(.master) else { throw ClientError.timeout("a master to create the counters on") }
        let client = try TestClient(host: node.host, port: node.port, timeout: 5)
        for key in counterKeys {
            let reply = try client.store("set", key, "0") ?? ""
            guard reply == "STORED" else { throw ClientError.unexpected("set \(key) 0", reply) }
        }
    }

    func start() {
        print("[SharedKeyWorkload] seed \(configuration.seed) (FLARE_FAULT_SEED=\(configuration.seed) repeats the clients' choices), \(configuration.clients) clients, \(dataKeys.count) keys, \(counterKeys.count) counters")
        lock.lock()
        running = configuration.clients
        lock.unlock()
        for number in 0..<configuration.clients {
            let target: SharedTarget = number % 2 == 0 ? .master : .proxy
            let thread = Thread { [self] in run(client: number, target: target) }
            thread.name = "shared-key client \(number)"
            thread.start()
        }
    }

    /// Stops every client and waits (bounded) until their last operations are recorded.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        let done = waitUntil(timeout: configuration.timeout * 3 + 5) {
            lock.lock()
            defer { lock.unlock() }
            return running == 0
        }
        if !done { print("[SharedKeyWorkload] some clients did not stop in time; their last operation is missing") }
    }

    var history: [SharedOp] {
        lock.lock()
        defer { lock.unlock() }
        return operations
    }

    func ackedCount(since: Double = 0) -> Int { history.filter { $0.outcome == .acked && $0.sent >= time(since) }.count }

    /// Waits until `count` more operations were acknowledged (or `timeout` passes).
    @discardableResult
    func waitForAcks(_ count: Int, timeout: Double = 10) -> Bool {
        let target = ackedCount() + count
        return waitUntil(timeout: timeout) { ackedCount() >= target }
    }

    /// No more writes to the first half of the data keys from now on. A lost write is seen in the
    /// final state only if nothing overwrites it later: frozen keys keep what the cluster did right
    /// after a fault (e.g. a deposed master still acknowledging) as their final value.
    func freezeHalf() {
        lock.lock()
        frozen = Array(dataKeys.prefix(dataKeys.count / 2))
        lock.unlock()
        print("[SharedKeyWorkload] froze \(dataKeys.count / 2) data keys at \(String(format: "%.3f", time(now())))")
    }

    private var writableKeys: [String] {
        lock.lock()
        defer { lock.unlock() }
        return frozen.isEmpty ? dataKeys : Array(dataKeys.dropFirst(frozen.count))
    }

    private var shouldStop: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func record(_ op: SharedOp) {
        lock.lock()
        operations.append(op)
        lock.unlock()
    }

    private func run(client number: Int, target: SharedTarget) {
        if let space = configuration.clientNamespaces[number], !enterNetworkNamespace(space) {
            print("[SharedKeyWorkload] client \(number) could not enter network namespace \(space); it sends nothing")
            lock.lock()
            running -= 1
            lock.unlock()
            return
        }
        var random = SplitMix64(state: configuration.seed &* 1_000_003 &+ UInt64(number))
        let weighted = SharedOpKind.allCases.flatMap { Array(repeating: $0, count: configuration.weights[$0] ?? 0) }
        var connection: TestClient?
        var via = ""
        var sequence = 0
        while !shouldStop && sequence < configuration.maxOpsPerClient {
            if connection == nil {
                guard let node = resolve(target), let opened = try? TestClient(host: node.host, port: node.port, timeout: configuration.timeout) else {
                    usleep(50_000)
                    continue
                }
                connection = opened
                via = "\(target.rawValue)(\(node.host):\(node.port))"
            }
            sequence += 1
            let kind = weighted[random.below(weighted.count)]
            let keys = kind == .incr ? counterKeys : writableKeys
            let key = keys[random.below(keys.count)]
            let value = "c\(number)-\(sequence)"
            guard let op = perform(kind, key: key, value: value, client: number, via: via, on: connection!) else {
                if connection?.isOpen != true { connection = nil }
                continue
            }
            record(op)
            if op.outcome == .uncertain {
                // A fresh connection, to the master of the moment, after an error or a timeout.
                connection?.close()
                connection = nil
                usleep(20_000)
            } else if configuration.pause > 0 {
                usleep(UInt32(configuration.pause * 1_000_000))
            }
        }
        connection?.close()
        lock.lock()
        running -= 1
        lock.unlock()
    }

    /// Sends one operation; nil when nothing was attempted (a cas whose `gets` found nothing or failed).
    private func perform(_ kind: SharedOpKind, key: String, value: String, client number: Int, via: String,
                         on connection: TestClient) -> SharedOp? {
        var sent = now()
        var reply = ""
        var recordedValue = value
        if kind == .cas {
            // The gets is only a read: it changes nothing, so it is not part of the history.
            do {
                guard let item = try connection.get([key], command: "gets")[key], item.cas != nil else { return nil }
                recordedValue = String(item.cas!)
            } catch {
                connection.close()
                return nil
            }
        }
        do {
            switch kind {
            case .set:
                reply = try connection.store("set", key, value, flags: UInt32(number + 1)) ?? ""
            case .append:
                reply = try connection.store("append", key, "," + value) ?? ""
            case .delete:
                reply = try connection.delete(key) ?? ""
            case .incr:
                reply = try connection.line("incr \(key) 1")
                recordedValue = reply
            case .cas:
                sent = now()
                reply = try connection.store("cas", key, value, flags: UInt32(number + 1), options: recordedValue) ?? ""
                recordedValue = value
            }
        } catch {
            reply = "\(error)"
            return SharedOp(client: number, kind: kind, key: key, value: kind == .incr ? "" : value, via: via,
                            sent: time(sent), replied: time(now()), outcome: .uncertain, reply: reply)
        }
        let outcome: SharedOpOutcome
        switch reply {
        case "STORED", "DELETED": outcome = .acked
        case "NOT_STORED", "NOT_FOUND", "EXISTS": outcome = .refused
        default: outcome = kind == .incr && UInt64(reply) != nil ? .acked : .uncertain
        }
        return SharedOp(client: number, kind: kind, key: key, value: recordedValue, via: via,
                        sent: time(sent), replied: time(now()), outcome: outcome, reply: reply)
    }
}

/// Moves the calling thread (only it) into the named network namespace. `setns` is looked up at run
/// time because Glibc's Swift module does not declare it.
func enterNetworkNamespace(_ name: String) -> Bool {
    typealias SetNS = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "setns") else { return false }
    let fd = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return unsafeBitCast(symbol, to: SetNS.self)(fd, 0x4000_0000 /* CLONE_NEWNET */) == 0
}
