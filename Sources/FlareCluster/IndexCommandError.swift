/// Why a node-changing index command was refused. The wire reply is fixed per command
/// (`SERVER_ERROR failed to set role (and balance)` …) and chosen by the caller; the reason is
/// for the log.
public struct IndexCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }

    static func noSuchNode(_ key: String) -> IndexCommandError {
        IndexCommandError("no such node \(key)")
    }
}
