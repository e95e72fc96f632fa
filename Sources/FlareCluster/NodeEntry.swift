/// One node of the index's node map (docs/original-behaviour.md, "Node map").
public struct NodeEntry: Sendable, Equatable, Hashable {
    /// The `server-name` the node registered with, verbatim (no DNS, no normalisation).
    public var name: String { didSet { nodeKey = Self.nodeKey(name: name, port: port) } }
    public var port: Int { didSet { nodeKey = Self.nodeKey(name: name, port: port) } }
    public var role: NodeRole
    public var state: NodeState
    /// Partition number for masters and slaves, −1 when not applicable.
    public var partition: Int
    /// Read weight inside the partition; 0 means "never send reads here".
    public var balance: Int
    /// Index-allocated id (16, 17, …) of the node's monitor thread.
    public var threadType: Int

    public init(
        name: String, port: Int, role: NodeRole, state: NodeState,
        partition: Int, balance: Int, threadType: Int
    ) {
        self.name = name
        self.port = port
        nodeKey = Self.nodeKey(name: name, port: port)
        self.role = role
        self.state = state
        self.partition = partition
        self.balance = balance
        self.threadType = threadType
    }

    /// A node as `node add` registers it: an active proxy with no partition.
    public static func freshProxy(name: String, port: Int, threadType: Int) -> NodeEntry {
        NodeEntry(name: name, port: port, role: .proxy, state: .active, partition: -1, balance: 0, threadType: threadType)
    }

    /// The node's identity, `"<server-name>:<server-port>"`; stored, since routing and every
    /// node-map lookup read it (formatting it each time showed in the proxy's profile).
    public private(set) var nodeKey: String

    public static func nodeKey(name: String, port: Int) -> String { "\(name):\(port)" }
}
