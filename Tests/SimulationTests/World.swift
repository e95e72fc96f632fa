import FlareCluster
import FlareStorage
import Synchronization

/// Which parts of the design are switched on. `full` is the design as the real code ships it;
/// the weakened variants exist to show that the checks catch what each part prevents.
struct SimDesign: Sendable, CustomStringConvertible {
    /// `master-lease` 1000 ms in every node's NodeCore (0 = off): a master acts only while it
    /// heard from the index within the lease.
    var lease = true
    /// The index grants the leases (`lease` requests), refuses them once it decided to fail a
    /// master over and defers that fail-over until the last grant expired. Off: every renewal
    /// counts and the fail-over runs at once (the design before grants: the lease gap).
    var leaseGrants = true
    /// A node applies a copy only if its own map names the sender as the source of the key's
    /// copies (WriteRouting.acceptsReplica).
    var senderCheck = true
    /// A sync write is acknowledged only after every active slave confirmed it.
    var syncWaitsForSlaves = true
    /// A copying node dumps its source only once the source routes by the map that lists the
    /// copying node (SourceMapWait), so every later write of the source is streamed to it.
    var dumpWaitsForSourceMap = true
    /// Modelled, not the real node's way: a newly promoted master first sends its slaves a full
    /// copy that replaces theirs. Off by default (the real index sends them back to prepare).
    var resyncOnPromotion = false
    /// Slaves of partition 0 at the start (two exercise the resync of the other slave after a fail-over).
    var slaves = 1
    /// `rejoin-as-slave` on every node: a node that comes back as a proxy asks for its former
    /// partition, clears its data and copies it from the master (NodeCore drives it).
    var rejoinAsSlave = true

    static let full = SimDesign()

    var description: String {
        var off: [String] = []
        if !lease { off.append("lease") }
        if !leaseGrants { off.append("leaseGrants") }
        if !senderCheck { off.append("senderCheck") }
        if !syncWaitsForSlaves { off.append("syncWaitsForSlaves") }
        if !dumpWaitsForSourceMap { off.append("dumpWaitsForSourceMap") }
        if !rejoinAsSlave { off.append("rejoinAsSlave") }
        var text = off.isEmpty ? "full design" : "design without " + off.joined(separator: ", ")
        if resyncOnPromotion { text += ", with resync on promotion" }
        text += ", \(slaves) slave\(slaves == 1 ? "" : "s")"
        return text
    }
}

extension SimDesign {
    /// The full design minus the comma-separated parts named (`FLARE_SIM_OFF=lease,senderCheck`);
    /// `resync` switches the modelled resync on, `slaves2` starts with two slaves.
    init(off names: String) {
        for name in names.split(separator: ",") {
            switch name {
            case "lease": lease = false
            case "leaseGrants": leaseGrants = false
            case "senderCheck": senderCheck = false
            case "syncWaitsForSlaves": syncWaitsForSlaves = false
            case "dumpWaitsForSourceMap": dumpWaitsForSourceMap = false
            case "rejoinAsSlave": rejoinAsSlave = false
            case "resync": resyncOnPromotion = true
            case "slaves2": slaves = 2
            default: preconditionFailure("unknown design part \(name)")
            }
        }
    }
}

/// Timing of the simulated cluster, in simulated milliseconds: the shipped settings
/// (etc/flarei.conf: monitor interval 1 s, threshold 2, read timeout 300 ms; NodeMonitor's 200 ms
/// retry; flared's master-lease 1000 ms; IndexLease's 200 ms rounds with a 500 ms timeout;
/// ReplicationSettings' 3 s confirmation timeout).
struct SimTiming {
    var monitorInterval: Int64 = 1000
    var monitorReadTimeout: Int64 = 300
    var monitorRetry: Int64 = 200
    var threshold = 2
    var lease: Int64 = 1000
    var leaseInterval: Int64 = 200
    var leaseTimeout: Int64 = 500
    var confirmTimeout: Int64 = 3000
    var clientTimeout: Int64 = 4000
    var forwardTimeout: Int64 = 1000
    var indexCallTimeout: Int64 = 500
    var registerRetry: Int64 = 2000
    var dumpTimeout: Int64 = 3000
    var nodeTick: Int64 = 100
    var stall: Int64 = 1000
    var faultPhase: Int64 = 6000
    var quiescePhase: Int64 = 8000
}

/// Endpoints: 0 is the index, 1…nodeCount the nodes, 100+c client c.
typealias Endpoint = Int
let indexEndpoint: Endpoint = 0
let clientBase: Endpoint = 100

/// A write as one node sends it to another (ForwardedRequest.swift): a forwarded client write
/// (version 0) or a copy (`set` of the item as stored, `delete … 0 <version>`), behind the proxy
/// path of the nodes it passed.
struct WireWrite {
    var op: ClientOp
    var flags: UInt32 = 0
    var version: UInt64 = 0
    var sync: Bool
    var path: [Int]
    /// The client operation it stems from (nil for a copy).
    var opID: Int?
    /// A copy's era stamp: the map version its master acted under (ProxyPath's `@<version>`); nil
    /// for a client's write, forwarded or not.
    var stamp: UInt64? = nil
}

/// What a replication stream carries: a copy, or (modelled resync) a full copy of the partition.
enum StreamOp {
    case write(WireWrite)
    case snapshot([SnapshotItem])

    var bytes: Int {
        switch self {
        case .write(let w): w.op.key.utf8.count + 48
        case .snapshot(let items): items.reduce(16) { $0 + $1.key.utf8.count + $1.value.count + 32 }
        }
    }
}

struct SnapshotItem: Equatable {
    let key: String
    let value: [UInt8]
    let flags: UInt32
    let version: UInt64
}

/// Simulated wall-clock microseconds, readable from the `@Sendable` closure VersionClock takes.
final class SimWallClock: Sendable {
    private let micros = Mutex<Int64>(0)
    /// Far from zero, as real wall-clock microseconds are, so that a negative skew stays positive.
    static let epoch: Int64 = 1_700_000_000_000_000

    func set(milliseconds: Int64) { micros.withLock { $0 = Self.epoch + milliseconds * 1000 } }
    func read() -> Int64 { micros.withLock { $0 } }
}

enum ClientOp {
    case set(key: String, value: String)
    case delete(key: String)
    case append(key: String, token: String)
    case incr(key: String, delta: UInt64)
    case cas(key: String, value: String, unique: UInt64)
    case gets(key: String)

    var key: String {
        switch self {
        case .set(let key, _), .delete(let key), .append(let key, _), .incr(let key, _), .cas(let key, _, _), .gets(let key): key
        }
    }

    var isWrite: Bool { if case .gets = self { false } else { true } }
}

struct ClientRequest {
    let opID: Int
    let client: Int
    let op: ClientOp
    let sync: Bool
}

enum ClientReply {
    case stored
    case deleted
    case counter(UInt64)
    case found(value: String, unique: UInt64)
    case miss
    /// NOT_STORED / NOT_FOUND / EXISTS: executed, no effect.
    case noEffect(String)
    /// Refused before executing (fenced, not master, no lease): no effect.
    case refused(String)
    /// Executed or maybe not, replicated or maybe not: SERVER_ERROR after the fact.
    case uncertain(String)
}

enum Message {
    // Index monitor (NodeMonitor.swift): ping and `node sync`, each answered OK.
    case ping(id: UInt64)
    case push(id: UInt64, version: UInt64, map: NodeMap)
    case monitorOK(id: UInt64)
    // Node → index (IndexLease, IndexClient): `lease`, the map fetch (`lease` then `stats nodes`),
    // `node add`, commands.
    case lease(id: UInt64)
    case leaseReply(id: UInt64, version: UInt64, granted: Bool)
    case fetchMap(id: UInt64)
    case fetchReply(id: UInt64, version: UInt64, map: NodeMap, granted: Bool)
    case nodeAdd(id: UInt64)
    case nodeAddReply(id: UInt64, map: NodeMap)
    case command(id: UInt64, line: String)
    case commandReply(id: UInt64, ok: Bool)
    // Clients.
    case request(ClientRequest)
    case reply(opID: Int, ClientReply)
    // Node ↔ node: forwarded writes and their replies, replication copies, dumps.
    case forward(id: UInt64, WireWrite)
    case forwardReply(id: UInt64, ClientReply)
    case replicate(conn: UInt64, position: UInt64, StreamOp)
    case replicateReply(conn: UInt64, position: UInt64, ClientReply)
    /// `minimum`: the node map the source must route by first (0: none).
    case dump(id: UInt64, minimum: UInt64)
    /// The source does not route by that map yet: ask again.
    case dumpNotYet(id: UInt64)
    case dumpReply(id: UInt64, [SnapshotItem])
}

enum SimEvent {
    case deliver(from: Endpoint, to: Endpoint, epoch: UInt64, Message)
    case monitorWake(node: Int, token: UInt64)
    case monitorTimeout(node: Int, id: UInt64)
    case priorityWait(push: UInt64)
    /// The last lease granted to a node the monitor reported failed has expired: take it down.
    case leaseExpired(node: Int, token: UInt64)
    case nodeTick(node: Int, incarnation: UInt64)
    case leaseRound(node: Int, token: UInt64)
    case clientTick(client: Int)
    case clientTimeout(client: Int, opID: Int)
    case fault(Fault)
}

enum Fault: CustomStringConvertible {
    case crash(node: Int, restartAfter: Int64)
    case restart(node: Int)
    case stall(node: Int, duration: Int64)
    case resume(node: Int)
    case isolate(node: Int, duration: Int64)
    case heal(node: Int)
    case indexCrash(restartAfter: Int64)
    case indexRestart

    var description: String {
        switch self {
        case .crash(let n, let after): "crash n\(n) (restart after \(after) ms)"
        case .restart(let n): "restart n\(n)"
        case .stall(let n, let d): "stall n\(n) for \(d) ms"
        case .resume(let n): "resume n\(n)"
        case .isolate(let n, let d): "isolate n\(n) from index and peers for \(d) ms"
        case .heal(let n): "heal n\(n)"
        case .indexCrash(let after): "index crash (restart after \(after) ms)"
        case .indexRestart: "index restart"
        }
    }
}

/// A TCP connection between two endpoints: in order per direction; a new epoch means the old
/// connection broke and whatever was in flight on it is lost.
struct Link {
    var epoch: UInt64 = 0
    var lastArrival: [Int64] = [0, 0]
}

/// One acknowledged write: which node acknowledged it, when, for which partition.
struct AckRecord {
    let time: Int64
    let node: Int
    let partition: Int
    let opID: Int
    /// The version of the map the node acted under.
    let mapVersion: UInt64
}

/// The simulated world of one seed: index, nodes, clients, network, and the event loop.
final class World {
    let seed: UInt64
    let design: SimDesign
    let timing = SimTiming()
    var rng: SimRandom
    var now: Int64 = 0
    var queue = EventQueue<SimEvent>()
    var trace: Trace

    let nodeCount = 4
    var index: SimIndex!
    var nodes: [SimNode] = []   // nodes[0] unused so that node i is nodes[i]
    var clients: [SimClient] = []
    var history: [OpRecord] = []
    /// Incr operations so far: each gets the next power of two as its delta.
    var incrCount = 0
    var acks: [AckRecord] = []
    let keys = ["k0", "k1", "k2", "k3", "n"]
    static let counterKey = "n"
    let resolver: KeyResolver
    /// Building the modular table costs more than a whole run: built once, immutable.
    static let sharedResolver = try! KeyResolver()

    private var links: [Int: Link] = [:]
    /// Nodes currently cut off from index and peers.
    var isolated: Set<Int> = []
    /// Per-message chance (permille) that the connection breaks right before it.
    var dropPermille = 0
    var spikePermille = 0
    var nextID: UInt64 = 0
    /// The simulated wall clock every node's VersionClock reads (plus the node's skew).
    let wallClock = SimWallClock()

    init(seed: UInt64, design: SimDesign, traceCapacity: Int) {
        self.seed = seed
        self.design = design
        self.rng = SimRandom(seed: seed)
        self.trace = Trace(capacity: traceCapacity)
        self.resolver = World.sharedResolver
    }

    func freshID() -> UInt64 {
        nextID += 1
        return nextID
    }

    func log(_ line: @autoclosure () -> String) {
        guard trace.capacity > 0 else { return }
        trace.add("\(now) \(line())")
    }

    func nodeKey(_ node: Int) -> String { NodeEntry.nodeKey(name: "n\(node)", port: 12121) }

    func node(forKey key: String) -> Int? {
        (1...nodeCount).first { nodeKey($0) == key }
    }

    // MARK: Network

    private func linkID(_ a: Endpoint, _ b: Endpoint) -> Int { min(a, b) * 1024 + max(a, b) }

    /// Whether a message between these endpoints can pass now (isolation cuts a node off from
    /// the index and the other nodes; clients still reach it).
    func reachable(_ a: Endpoint, _ b: Endpoint) -> Bool {
        let aServer = a < clientBase
        let bServer = b < clientBase
        guard aServer && bServer else { return true }
        return !(isolated.contains(a) || isolated.contains(b))
    }

    /// Breaks the connection between a and b: everything in flight on it is lost.
    func breakLink(_ a: Endpoint, _ b: Endpoint) {
        let id = linkID(a, b)
        var link = links[id] ?? Link()
        link.epoch += 1
        links[id] = link
    }

    func send(_ from: Endpoint, _ to: Endpoint, _ message: Message) {
        guard reachable(from, to) else {
            // A TCP connection never delivers later bytes without the earlier ones: what is sent
            // into a cut ends that connection (a real one times out or is reset), so the
            // stream's later copies cannot arrive after the heal over a gap.
            breakLink(from, to)
            log("drop \(name(from))->\(name(to)) (isolated): \(describe(message))")
            return
        }
        if dropPermille > 0 && rng.chance(dropPermille) {
            breakLink(from, to)
            log("connection \(name(from))<->\(name(to)) reset; lost \(describe(message)) and what was in flight")
            return
        }
        let id = linkID(from, to)
        var link = links[id] ?? Link()
        let direction = from < to ? 0 : 1
        var delay = rng.range(1...8)
        if spikePermille > 0 && rng.chance(spikePermille) { delay += rng.range(50...250) }
        // TCP keeps one direction of a connection in order.
        let arrival = max(now + delay, link.lastArrival[direction])
        link.lastArrival[direction] = arrival
        links[id] = link
        queue.push(arrival, .deliver(from: from, to: to, epoch: link.epoch, message))
    }

    func linkEpoch(_ a: Endpoint, _ b: Endpoint) -> UInt64 { links[linkID(a, b)]?.epoch ?? 0 }

    func name(_ endpoint: Endpoint) -> String {
        endpoint == indexEndpoint ? "index" : endpoint >= clientBase ? "c\(endpoint - clientBase)" : "n\(endpoint)"
    }

    func describe(_ message: Message) -> String {
        switch message {
        case .ping(let id): "ping#\(id)"
        case .push(let id, let version, let map): "node sync#\(id) v\(version) [\(Self.brief(map))]"
        case .monitorOK(let id): "OK#\(id)"
        case .lease(let id): "lease#\(id)"
        case .leaseReply(let id, let version, let granted): "\(granted ? "LEASE" : "lease revoked")#\(id) node_map_version \(version)"
        case .fetchMap(let id): "fetch map#\(id)"
        case .fetchReply(let id, let version, let map, let granted): "map#\(id) v\(version)\(granted ? "" : " lease revoked") [\(Self.brief(map))]"
        case .nodeAdd(let id): "node add#\(id)"
        case .nodeAddReply(let id, let map): "node add reply#\(id) [\(Self.brief(map))]"
        case .command(let id, let line): "\(line)#\(id)"
        case .commandReply(let id, let ok): "\(ok ? "OK" : "refused")#\(id)"
        case .request(let request): "request op\(request.opID) \(Self.describe(request.op))\(request.sync ? " sync" : "")"
        case .reply(let op, let reply): "reply op\(op) \(reply)"
        case .forward(let id, let write): "forward#\(id) \(Self.describe(write))"
        case .forwardReply(let id, let reply): "forward reply#\(id) \(reply)"
        case .replicate(let conn, let position, let op): "replicate c\(conn)@\(position) \(Self.describe(op))"
        case .replicateReply(let conn, let position, let reply): "replicate reply c\(conn)@\(position) \(reply)"
        case .dump(let id, let minimum): "dump#\(id) needs v\(minimum)"
        case .dumpNotYet(let id): "dump#\(id) not yet"
        case .dumpReply(let id, let items): "dump#\(id) \(items.count) items"
        }
    }

    static func describe(_ write: WireWrite) -> String {
        let path = write.path.map { "n\($0)" }.joined(separator: ",")
        let version = write.version == 0 ? "" : " v\(write.version)"
        return "<\(path)>\(describe(write.op))\(version)\(write.sync ? " sync" : "")\(write.opID.map { " op\($0)" } ?? "")"
    }

    static func describe(_ op: StreamOp) -> String {
        switch op {
        case .write(let write): describe(write)
        case .snapshot(let items): "snapshot of \(items.count) items"
        }
    }

    static func describe(_ op: ClientOp) -> String {
        switch op {
        case .set(let key, let value): "set \(key)=\(value)"
        case .delete(let key): "delete \(key)"
        case .append(let key, let token): "append \(key)+=\(token)"
        case .incr(let key, let delta): "incr \(key) \(delta)"
        case .cas(let key, let value, let unique): "cas \(key)=\(value) if v\(unique)"
        case .gets(let key): "gets \(key)"
        }
    }

    static func brief(_ map: NodeMap) -> String {
        map.entries.map { "\($0.name) \($0.role.name)/\($0.state.name)/\($0.partition)" }.joined(separator: ", ")
    }

    // MARK: Run

    /// Sets the cluster up through the real index operations, schedules faults, runs to quiescence.
    func run() {
        index = SimIndex(world: self)
        // Wall clocks disagree by up to ±50 ms; the hybrid logical clock must cope.
        nodes = (0...nodeCount).map { SimNode(id: $0, world: self, skewMicroseconds: rng.range(-50_000...50_000)) }
        index.bootstrap()
        clients = (0..<(3 + rng.below(4))).map { SimClient(id: $0) }
        dropPermille = [0, 2, 5, 10][rng.below(4)]
        spikePermille = [0, 10, 30][rng.below(3)]
        scheduleFaults()
        for client in clients { queue.push(rng.range(1...50), .clientTick(client: client.id)) }
        let end = timing.faultPhase + timing.quiescePhase
        while let (time, event) = queue.pop(), time <= end {
            now = time
            wallClock.set(milliseconds: now)
            dispatch(event)
        }
        now = end
    }

    private func scheduleFaults() {
        let count = rng.below(5)
        for _ in 0..<count {
            let at = rng.range(200...(timing.faultPhase - 500))
            // The master is the most interesting victim; n1 is master at the start.
            let target = rng.chance(500) ? 1 : 1 + rng.below(nodeCount)
            let fault: Fault
            switch rng.below(6) {
            case 0: fault = .crash(node: target, restartAfter: rng.range(20...300))
            case 1: fault = .crash(node: target, restartAfter: rng.range(1500...3000))
            case 2: fault = .stall(node: target, duration: rng.range(300...2500))
            case 3: fault = .isolate(node: target, duration: rng.range(300...3000))
            case 4: fault = .indexCrash(restartAfter: rng.range(100...1500))
            default: fault = .stall(node: target, duration: rng.range(50...400))
            }
            queue.push(at, .fault(fault))
        }
        // Everything heals when the fault phase ends.
        queue.push(timing.faultPhase, .fault(.indexRestart))
        for node in 1...nodeCount {
            queue.push(timing.faultPhase, .fault(.restart(node: node)))
            queue.push(timing.faultPhase, .fault(.resume(node: node)))
            queue.push(timing.faultPhase, .fault(.heal(node: node)))
        }
    }

    private func dispatch(_ event: SimEvent) {
        switch event {
        case .deliver(let from, let to, let epoch, let message):
            guard epoch == linkEpoch(from, to) else {
                log("lost \(name(from))->\(name(to)) (connection broke): \(describe(message))")
                return
            }
            guard reachable(from, to) else {
                log("lost \(name(from))->\(name(to)) (isolated): \(describe(message))")
                return
            }
            if to == indexEndpoint {
                index.receive(from: from, message)
            } else if to >= clientBase {
                receiveAtClient(to - clientBase, from: from, message)
            } else {
                nodeEvent(to, event)
            }
        case .monitorWake, .monitorTimeout, .priorityWait, .leaseExpired:
            index.handle(event)
        case .nodeTick(let node, _), .leaseRound(let node, _):
            nodeEvent(node, event)
        case .clientTick(let client):
            clientTick(client)
        case .clientTimeout(let client, let opID):
            clientTimeout(client, opID: opID)
        case .fault(let fault):
            apply(fault)
        }
    }

    private func apply(_ fault: Fault) {
        switch fault {
        case .crash(let n, let after):
            guard nodes[n].up else { return }
            log("FAULT \(fault)")
            crashNode(n)
            queue.push(min(now + after, timing.faultPhase), .fault(.restart(node: n)))
        case .restart(let n):
            guard !nodes[n].up else { return }
            log("FAULT \(fault)")
            restartNode(n)
        case .stall(let n, let duration):
            guard nodes[n].up, nodes[n].stalledUntil == nil else { return }
            log("FAULT \(fault)")
            nodes[n].stalledUntil = now + duration
            queue.push(min(now + duration, timing.faultPhase), .fault(.resume(node: n)))
        case .resume(let n):
            guard nodes[n].stalledUntil != nil else { return }
            log("FAULT \(fault)")
            resumeNode(n)
        case .isolate(let n, let duration):
            guard !isolated.contains(n) else { return }
            log("FAULT \(fault)")
            isolated.insert(n)
            breakLink(n, indexEndpoint)
            for other in 1...nodeCount where other != n { breakLink(n, other) }
            queue.push(min(now + duration, timing.faultPhase), .fault(.heal(node: n)))
        case .heal(let n):
            guard isolated.contains(n) else { return }
            log("FAULT \(fault)")
            isolated.remove(n)
        case .indexCrash(let after):
            guard index.up else { return }
            log("FAULT \(fault)")
            index.crash()
            queue.push(min(now + after, timing.faultPhase), .fault(.indexRestart))
        case .indexRestart:
            guard !index.up else { return }
            log("FAULT \(fault)")
            index.restart()
        }
    }
}
