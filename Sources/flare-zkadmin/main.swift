#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlareCluster
import FlareConfig
import FlareZooKeeper

/// flare-zkadmin: prepares and inspects the ZooKeeper tree that flarei uses with
/// `index-db = zookeeper://host:port[,host:port...]/path` (the original shipped a tool of this name).
struct ZKAdmin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flare-zkadmin",
        abstract: "Prepare and inspect the ZooKeeper tree of flarei's index-db = zookeeper://.",
        subcommands: [Initialise.self, Import.self, Show.self])
}

struct TreeOptions: ParsableArguments {
    @Argument(help: "The index-db URI, as in flarei.conf: zookeeper://host:port[,host:port...]/path")
    var uri: String

    @Option(help: "Seconds to wait for the ensemble.")
    var timeout: Int = 10

    func connect() throws -> (ZooKeeperSession, IndexTree) {
        guard case .zookeeper(let servers, let path)? = IndexDatabase(uri: uri) else {
            throw ValidationError("'\(uri)' is not zookeeper://host:port[,host:port...]/path")
        }
        let session = try ZooKeeperSession(connectString: servers, sessionTimeoutMilliseconds: 10_000) { _ in }
        var waited = 0
        while !session.isConnected {
            guard waited < timeout * 50 else { throw ToolFailure("cannot connect to ZooKeeper at \(servers) within \(timeout) s") }
            usleep(20_000)
            waited += 1
        }
        return (session, IndexTree(root: path))
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct Initialise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the znodes flarei needs (those missing; existing ones are kept), with an empty node map.",
        discussion: "Meta values given here are stored under index/meta and override every flarei's configuration.")

    @OptionGroup var tree: TreeOptions
    @Option(name: .customLong("partition-size")) var partitionSize: Int?
    @Option(name: .customLong("key-hash-algorithm")) var keyHashAlgorithm: String?
    @Option(name: .customLong("partition-modular-hint")) var hint: Int?
    @Option(name: .customLong("partition-modular-virtual")) var virtual: Int?

    func run() throws {
        if let keyHashAlgorithm, FlareConfig.KeyHashAlgorithm(rawValue: keyHashAlgorithm) == nil {
            throw ValidationError("unknown key-hash-algorithm '\(keyHashAlgorithm)'")
        }
        for (name, value) in [("partition-size", partitionSize), ("partition-modular-hint", hint), ("partition-modular-virtual", virtual)] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive") }
        }
        let (session, layout) = try tree.connect()
        var meta: [String: String] = [:]
        meta["partition-size"] = partitionSize.map(String.init)
        meta["key-hash-algorithm"] = keyHashAlgorithm
        meta["partition-modular-hint"] = hint.map(String.init)
        meta["partition-modular-virtual"] = virtual.map(String.init)
        if !meta.isEmpty { meta["partition-type"] = "modular" }
        let created = try layout.initialise(session, meta: meta)
        print(created.isEmpty ? "\(layout.index): complete already, nothing created" : created.map { "created \($0)" }.joined(separator: "\n"))
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store a flare.xml (from a file:// index) as the tree's node map, creating the tree if needed.",
        discussion: "Stop every flarei of the cluster first. Refuses to replace a non-empty map unless --force is given.")

    @OptionGroup var tree: TreeOptions
    @Argument(help: "Path of flare.xml.") var file: String
    @Flag(help: "Replace a node map that already lists nodes.") var force = false

    func run() throws {
        guard let text = try? String(contentsOfFileAtPath: file) else { throw ToolFailure("cannot read \(file)") }
        let state: IndexState
        do { state = try FlareXML.decode(text) } catch { throw ToolFailure("\(file) is not a valid node map: \(error)") }
        let (session, layout) = try tree.connect()
        try layout.initialise(session, meta: [:])
        let (current, _) = try layout.readNodeMap(session)
        if current.map.count > 0 && !force {
            throw ToolFailure("\(layout.nodemap) already lists \(current.map.count) node(s) (version \(current.version)); use --force to replace it")
        }
        // Versions only grow: nodes ignore a map older than the one they hold.
        var imported = state
        imported.version = max(state.version, current.version + 1)
        try layout.writeNodeMap(session, imported)
        print("imported \(imported.map.count) node(s) from \(file) into \(layout.nodemap) as version \(imported.version)")
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the index servers, the leader, the meta values and the node map version.")

    @OptionGroup var tree: TreeOptions

    func run() throws {
        let (session, layout) = try tree.connect()
        try layout.check(session)
        let servers = try session.children(layout.servers).sorted()
        let lock = IndexTree.leaderFirst(try session.children(layout.lock))
        let leader = try lock.first.map { try session.get(layout.lock + "/" + $0).text } ?? ""
        print("servers \(servers.joined(separator: ","))")
        print("leader \(leader.isEmpty ? "-" : leader)")
        print("primary \((try? session.get(layout.primary).text) ?? "")")
        for (key, value) in try layout.readMeta(session).sorted(by: { $0.key < $1.key }) { print("meta \(key) \(value)") }
        let (state, _) = try layout.readNodeMap(session)
        print("nodemap version \(state.version) nodes \(state.map.count)")
    }
}

extension String {
    init(contentsOfFileAtPath path: String) throws {
        guard let file = fopen(path, "r") else { throw ToolFailure("cannot open \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

ZKAdmin.main()
