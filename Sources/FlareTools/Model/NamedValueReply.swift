/// A reply of `<marker>name value` lines (`stats`, `meta`), kept as name → value and parsed as
/// the original does: every marker removed, then each line split at its first space (a line
/// without a value gives "", a later line wins).
public protocol NamedValueReply: Equatable, Sendable {
    /// `STAT ` or `META `.
    static var marker: String { get }
    var values: [String: String] { get }
    init(values: [String: String])
}

extension NamedValueReply {
    public init(payload: [String]) {
        var values: [String: String] = [:]
        for line in payload {
            let (name, value) = RubySplit.firstWordAndRest(RubySplit.removingAll(Self.marker, from: line))
            values[String(name)] = value.map(String.init) ?? ""
        }
        self.init(values: values)
    }

    public subscript(name: String) -> String? { values[name] }
}
