import CZooKeeper

/// A ZooKeeper call that failed, with the library's code and message.
public struct ZooKeeperError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Int32
    public let operation: String
    public let path: String

    public init(code: Int32, operation: String, path: String) {
        self.code = code
        self.operation = operation
        self.path = path
    }

    public var isNoNode: Bool { code == ZNONODE.rawValue }
    public var isNodeExists: Bool { code == ZNODEEXISTS.rawValue }
    public var isBadVersion: Bool { code == ZBADVERSION.rawValue }
    public var isSessionExpired: Bool { code == ZSESSIONEXPIRED.rawValue }

    public var description: String {
        "ZooKeeper \(operation) \(path): \(String(cString: zerror(code)))"
    }
}
