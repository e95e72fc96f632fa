/// The reply to `stats`: name → value. Parsed as the original does (docs/original-behaviour.md, "stats replies"): every
/// `STAT ` removed, then each line split at the first space.
public struct ServerStats: NamedValueReply {
    public static let marker = "STAT "
    public let values: [String: String]

    public init(values: [String: String]) {
        self.values = values
    }

    /// The value converted like Ruby's `to_i` (missing → 0).
    public func integer(_ name: String) -> Int { RubyNumber.integer(values[name] ?? "") }
}
