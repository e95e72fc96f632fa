/// The reply to `stats`: name → value. Parsed as the original does (stats.md §1): every `STAT `
/// removed, then each line split at the first space.
public struct ServerStats: Equatable, Sendable {
    public let values: [String: String]

    public init(values: [String: String]) {
        self.values = values
    }

    public init(payload: [String]) {
        var values: [String: String] = [:]
        for line in payload {
            let (name, value) = RubySplit.firstWordAndRest(RubySplit.removingAll("STAT ", from: line))
            values[String(name)] = value.map(String.init) ?? ""
        }
        self.init(values: values)
    }

    public subscript(name: String) -> String? { values[name] }

    /// The value converted like Ruby's `to_i` (missing → 0).
    public func integer(_ name: String) -> Int { RubyNumber.integer(values[name] ?? "") }
}
