/// One `VALUE` record of a `get` or `dump` reply. `dump` lines carry all five fields
/// (`VALUE key flag len version expire`); for `get` the missing ones are 0, as in the original.
public struct DumpedItem: Equatable, Sendable {
    public let key: String
    public let flag: Int
    public let length: Int
    public let version: UInt64
    public let expire: Int
    public let data: [UInt8]

    public init(key: String, flag: Int, length: Int, version: UInt64, expire: Int, data: [UInt8]) {
        self.key = key
        self.flag = flag
        self.length = length
        self.version = version
        self.expire = expire
        self.data = data
    }
}

/// How an item or key stream ended.
public enum StreamEnd: Equatable, Sendable {
    case end
    /// A line that is neither a record nor `END` (e.g. `ERROR`): the original gives up there.
    case failed(line: String)
}
