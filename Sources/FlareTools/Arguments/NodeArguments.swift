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
        let fields = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 2, let address = NodeAddress(fields[0], fields[1]) else {
            throw ToolError.invalidArgument("invalid argument '\(argument)'. it must be hostname:port.")
        }
        return address
    }

    /// nil unless the host is non-empty and the port is all digits (the original's `nodekey_of`).
    init?(_ host: String, _ port: String) {
        guard !host.isEmpty, !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        self.init(host: host, port: port)
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
        let fields = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4, let address = NodeAddress(fields[0], fields[1]) else {
            throw ToolError.invalidArgument("invalid argument '\(argument)'. it must be hostname:port:balance:partition.")
        }
        guard let balance = Int(fields[2]), balance >= 0 else {
            throw ToolError.invalidArgument("invalid balance '\(argument)'.")
        }
        guard let partition = Int(fields[3]), partition >= 0 else {
            throw ToolError.invalidArgument("invalid partition '\(argument)'.")
        }
        return NodeAssignment(address: address, balance: balance, partition: partition)
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
        let fields = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 3, let address = NodeAddress(fields[0], fields[1]) else {
            throw ToolError.invalidArgument("invalid argument '\(argument)'. it must be hostname:port:balance.")
        }
        guard let balance = Int(fields[2]), balance >= 0 else {
            throw ToolError.invalidArgument("invalid balance '\(argument)'.")
        }
        return BalanceAssignment(address: address, balance: balance)
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
        let fields = argument.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 2 || fields.count == 4, let address = NodeAddress(fields[0], fields[1]) else {
            throw ToolError.invalidArgument("invalid argument '\(argument)'.")
        }
        guard fields.count == 4 else { return DumpSource(address: address, partition: nil) }
        guard let partition = Int(fields[3]), partition >= 0 else {
            throw ToolError.invalidArgument("invalid partition number '\(argument)'.")
        }
        return DumpSource(address: address, partition: partition)
    }
}
