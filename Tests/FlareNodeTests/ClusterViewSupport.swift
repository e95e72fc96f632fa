import FlareCluster
@testable import FlareNode
import XCTest

/// Keys whose partitions the tables below rely on, under `KeyResolver()` (the index's defaults),
/// checked by `ClusterViewKeyTests`: (partition among 2, partition among 3).
enum Keys {
    /// (0, 0): partition 0, staying there when a third partition is added.
    static let stays0 = "key0"
    /// (1, 1)
    static let stays1 = "key1"
    /// (0, 2): partition 0, moving to the partition being added.
    static let moves0 = "key4"
    /// (1, 2)
    static let moves1 = "key3"
}

/// Node entries named by their role in the tables, all on port 12121.
enum Node {
    static func master(_ name: String, of partition: Int, _ state: NodeState = .active, balance: Int = 1) -> NodeEntry {
        NodeEntry(name: name, port: 12121, role: .master, state: state, partition: partition, balance: balance, threadType: 16)
    }

    static func slave(_ name: String, of partition: Int, _ state: NodeState = .active, balance: Int = 1) -> NodeEntry {
        NodeEntry(name: name, port: 12121, role: .slave, state: state, partition: partition, balance: balance, threadType: 16)
    }

    static func proxy(_ name: String) -> NodeEntry {
        .freshProxy(name: name, port: 12121, threadType: 16)
    }
}

/// `name:12121`
func key(_ name: String) -> String { NodeEntry.nodeKey(name: name, port: 12121) }

/// The view node `name` has of a cluster of `nodes`, as built from an index push.
func view(of nodes: [NodeEntry], from name: String, file: StaticString = #filePath, line: UInt = #line) throws -> ClusterView {
    let map = try NodeMap(nodes)
    let layout = try map.partitionLayout()
    XCTAssertEqual(layout.skippedNodes, [], "the test map is consistent", file: file, line: line)
    return ClusterView(selfKey: key(name), standalone: false, map: map, version: 1, layout: layout, resolver: try KeyResolver())
}

extension ClusterView {
    func routeWrite(_ key: String) -> Route { Array(key.utf8).withUnsafeBytes { routeWrite($0) } }
    func routeRead(_ key: String) -> Route { Array(key.utf8).withUnsafeBytes { routeRead($0) } }

    /// Every route a read of `key` takes over enough draws from the partition's read multiset
    /// (a reader drawn with probability 1/3 is missed by 100 draws with probability 2e-18).
    func readRoutes(_ key: String, draws: Int = 100) -> Set<String> {
        Set((0..<draws).map { _ in describe(routeRead(key)) })
    }

    /// `node:port/wait` or `node:port/nowait` for each replica of a write of `key`, in order.
    func replicas(_ key: String) -> [String] {
        Array(key.utf8).withUnsafeBytes { replicaTargets(for: $0) }.map(describe)
    }

    var slaveList: [String] { slaves.map(describe) }
}

func describe(_ route: Route) -> String {
    switch route {
    case .local: "local"
    case .noPartition: "noPartition"
    case .forward(let node): "forward " + node
    case .unavailable: "unavailable"
    }
}

func describe(_ target: ReplicaTarget) -> String {
    target.node.nodeKey + (target.waitFor ? "/wait" : "/nowait")
}

/// What one node does with one key: where a client's write and a client's read (every route the
/// random draw can take) go. Whether a copy of it is applied here is ReplicaAcceptanceTests'.
struct RouteCase {
    let key: String
    let write: Route
    let reads: Set<String>

    init(_ key: String, write: Route, reads: [Route]) {
        self.key = key
        self.write = write
        self.reads = Set(reads.map(describe))
    }

    /// Everything is served here.
    static func local(_ key: String) -> RouteCase {
        RouteCase(key, write: .local, reads: [.local])
    }
}

func assertRoutes(_ view: ClusterView, _ cases: [RouteCase], file: StaticString = #filePath, line: UInt = #line) {
    for c in cases {
        let context = "\(view.selfKey), key \(c.key)"
        XCTAssertEqual(describe(view.routeWrite(c.key)), describe(c.write), "write: \(context)", file: file, line: line)
        XCTAssertEqual(view.readRoutes(c.key), c.reads, "read: \(context)", file: file, line: line)
    }
}
