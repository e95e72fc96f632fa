/// The index's `meta` reply (docs/original-behaviour.md, "Index server commands"): `META <name> <value>` lines.
public struct MetaInfo: NamedValueReply {
    public static let marker = "META "
    public let values: [String: String]

    public init(values: [String: String]) {
        self.values = values
    }

    public var keyHashAlgorithm: String? { values["key-hash-algorithm"] }
    public var partitionModularHint: Int? { values["partition-modular-hint"].map(RubyNumber.integer) }
    public var partitionModularVirtual: Int? { values["partition-modular-virtual"].map(RubyNumber.integer) }
}
