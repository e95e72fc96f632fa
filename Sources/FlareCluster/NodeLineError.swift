/// Why a `NODE …` line could not be read. Every case is answered `CLIENT_ERROR format error`
/// on the wire; the detail is for logs.
public enum NodeLineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first word is not exactly `NODE`.
    case notANodeLine(String)
    /// The line ends before this field.
    case missingField(String)
    /// This field is not a decimal integer that fits a C `int`.
    case notAnInteger(field: String, word: String)
    /// The server name is not valid UTF-8 (node keys are compared and printed as text).
    case invalidName
    case portOutOfRange(Int)
    case unknownRole(Int)
    case unknownState(Int)

    public var description: String {
        switch self {
        case .notANodeLine(let word): return "NODE line expected, got first word \"\(word)\""
        case .missingField(let field): return "NODE line has no \(field)"
        case .notAnInteger(let field, let word): return "NODE line \(field) \"\(word)\" is not an integer"
        case .invalidName: return "NODE line server name is not valid UTF-8"
        case .portOutOfRange(let port): return "NODE line port \(port) is outside 0…65535"
        case .unknownRole(let code): return "NODE line role \(code) is not 0 (master), 1 (slave) or 2 (proxy)"
        case .unknownState(let code):
            return "NODE line state \(code) is not 0 (active), 1 (prepare), 2 (down) or 3 (ready)"
        }
    }
}
