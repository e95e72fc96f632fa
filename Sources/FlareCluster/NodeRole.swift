/// What a node does for its partition (docs/original-behaviour.md, "Node map"). The raw value is the numeric code of
/// `NODE` lines and `flare.xml`; `name` is the word of `stats nodes` and `node role`.
public enum NodeRole: Int, Sendable, CaseIterable {
    case master = 0
    case slave = 1
    case proxy = 2

    public var name: String {
        switch self {
        case .master: return "master"
        case .slave: return "slave"
        case .proxy: return "proxy"
        }
    }

    /// The role spelt exactly as on the wire (lowercase; flare-tools compare the exact word).
    public init?(name: String) {
        guard let role = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = role
    }
}
