/// Where a node is in its life cycle (docs/original-behaviour.md, "Node map"). The raw value is the numeric code of
/// `NODE` lines and `flare.xml`; `name` is the word of `stats nodes` and `node state`.
public enum NodeState: Int, Sendable, CaseIterable {
    case active = 0
    case prepare = 1
    case down = 2
    case ready = 3

    public var name: String {
        switch self {
        case .active: return "active"
        case .prepare: return "prepare"
        case .down: return "down"
        case .ready: return "ready"
        }
    }

    /// The state spelt exactly as on the wire (lowercase).
    public init?(name: String) {
        guard let state = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = state
    }
}
