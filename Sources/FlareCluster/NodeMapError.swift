/// Why a node map could not be assembled.
public enum NodeMapError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Two entries share a node key; a map holds each node once.
    case duplicateNode(String)
    /// A line of a `NODE` list did not parse (line number counted from 1).
    case badLine(number: Int, NodeLineError)

    public var description: String {
        switch self {
        case .duplicateNode(let key): return "node \(key) appears more than once"
        case .badLine(let number, let error): return "line \(number): \(error)"
        }
    }
}
