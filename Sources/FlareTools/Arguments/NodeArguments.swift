/// A `hostname:port` argument (ping, down, activate, remove, reconstruct, threads, dump).
public struct NodeAddress: Equatable, Sendable {
    public let host: String
    public let port: String

    public var key: String { "\(host):\(port)" }
    public var endpoint: Endpoint { Endpoint(host: host, port: port) }

    public init(host: String, port: String) {
        self.host = host
        self.port = port
    }

    /// Exactly two fields, a non-empty host and a numeric port.
    public static func parse(_ argument: String) throws -> NodeAddress {
        try NodeArgument(argument, fieldCounts: [2], invalid: "invalid argument '\(argument)'. it must be hostname:port.").address
    }

    /// nil unless the host is non-empty and the port is all digits (the original's `nodekey_of`).
    init?(_ host: String, _ port: String) {
        guard !host.isEmpty, !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        self.init(host: host, port: port)
    }
}

/// A node argument split at every `:`: the node from the first two fields and the fields
/// after it, which the argument kinds read as non-negative integers.
struct NodeArgument {
    let address: NodeAddress
    let fields: [String]

    /// Throws `invalid` unless there are as many fields as one of `fieldCounts` and the first
    /// two name a node.
    init(_ argument: String, fieldCounts: [Int], invalid: String) throws {
        fields = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fieldCounts.contains(fields.count), let address = NodeAddress(fields[0], fields[1]) else {
            throw ToolError.invalidArgument(invalid)
        }
        self.address = address
    }

    /// Field `index` (balance, partition) as a non-negative integer; throws `invalid` otherwise.
    func nonNegative(_ index: Int, invalid: String) throws -> Int {
        guard let value = Int(fields[index]), value >= 0 else { throw ToolError.invalidArgument(invalid) }
        return value
    }
}

/// A `hostname:port:balance:partition` argument (master, slave).
public struct NodeAssignment: Equatable, Sendable {
    public let address: NodeAddress
    public let balance: Int
    public let partition: Int

    public init(address: NodeAddress, balance: Int, partition: Int) {
        self.address = address
        self.balance = balance
        self.partition = partition
    }

    /// All four fields are required; balance and partition must be non-negative integers.
    public static func parse(_ argument: String) throws -> NodeAssignment {
        let node = try NodeArgument(argument, fieldCounts: [4],
                                    invalid: "invalid argument '\(argument)'. it must be hostname:port:balance:partition.")
        return NodeAssignment(address: node.address, balance: try node.nonNegative(2, invalid: "invalid balance '\(argument)'."),
                              partition: try node.nonNegative(3, invalid: "invalid partition '\(argument)'."))
    }
}

/// A `hostname:port:balance` argument (balance).
public struct BalanceAssignment: Equatable, Sendable {
    public let address: NodeAddress
    public let balance: Int

    public init(address: NodeAddress, balance: Int) {
        self.address = address
        self.balance = balance
    }

    public static func parse(_ argument: String) throws -> BalanceAssignment {
        let node = try NodeArgument(argument, fieldCounts: [3], invalid: "invalid argument '\(argument)'. it must be hostname:port:balance.")
        return BalanceAssignment(address: node.address, balance: try node.nonNegative(2, invalid: "invalid balance '\(argument)'."))
    }
}

/// A `dump` source: `hostname:port` (the node's own partition) or
/// `hostname:port:balance:partition` (an explicit partition, the original's 4-field form).
public struct DumpSource: Equatable, Sendable {
    public let address: NodeAddress
    public let partition: Int?

    public init(address: NodeAddress, partition: Int?) {
        self.address = address
        self.partition = partition
    }

    public static func parse(_ argument: String) throws -> DumpSource {
        let node = try NodeArgument(argument, fieldCounts: [2, 4], invalid: "invalid argument '\(argument)'.")
        guard node.fields.count == 4 else { return DumpSource(address: node.address, partition: nil) }
        return DumpSource(address: node.address, partition: try node.nonNegative(3, invalid: "invalid partition number '\(argument)'."))
    }
}
