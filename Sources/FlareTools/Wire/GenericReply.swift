/// The outcome of the generic reply reader used by most requests (docs/original-behaviour.md, "Tools and their wire
/// formats").
public enum GenericReply: Equatable, Sendable {
    /// A success terminator arrived; `payload` holds the lines before it.
    case success(payload: [String])
    /// `EXISTS`, `ERROR`, `SERVER_ERROR …` or `CLIENT_ERROR …`: the whole failing line.
    case failure(line: String)

    public var succeeded: Bool {
        if case .success = self { return true }
        return false
    }

    public var payload: [String] {
        if case .success(let lines) = self { return lines }
        return []
    }
}

/// The original's terminator rules, keyed on the first word of a reply line.
enum ReplyTerminator: Equatable {
    case success
    case failure

    /// nil means "not a terminator": the line belongs to the payload. `NOT_STORED` is
    /// deliberately absent, exactly as in flare-tools (a tool would wait for a terminator).
    static func classify(_ line: String) -> ReplyTerminator? {
        switch firstWord(of: line) {
        case "OK", "END", "STORED", "DELETED", "NOT_FOUND": return .success
        case "EXISTS", "ERROR", "SERVER_ERROR", "CLIENT_ERROR": return .failure
        default: return nil
        }
    }

    static func firstWord(of line: String) -> Substring {
        line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true).first ?? ""
    }
}
