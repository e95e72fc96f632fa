/// The index's `meta` reply (index-server.md §2.2): `META <name> <value>` lines.
public struct MetaInfo: Equatable, Sendable {
    public let values: [String: String]

    public init(values: [String: String]) {
        self.values = values
    }

    public init(payload: [String]) {
        var values: [String: String] = [:]
        for line in payload {
            let (name, value) = RubySplit.firstWordAndRest(RubySplit.removingAll("META ", from: line))
            values[String(name)] = value.map(String.init) ?? ""
        }
        self.init(values: values)
    }

    public subscript(name: String) -> String? { values[name] }

    public var keyHashAlgorithm: String? { values["key-hash-algorithm"] }
    public var partitionModularHint: Int? { values["partition-modular-hint"].map(RubyNumber.integer) }
    public var partitionModularVirtual: Int? { values["partition-modular-virtual"].map(RubyNumber.integer) }
}
