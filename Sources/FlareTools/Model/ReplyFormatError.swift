/// A payload line a stats/meta parser cannot take apart; the client turns it into a
/// ToolError.unexpectedReply naming the server and the request.
public struct ReplyFormatError: Error, Equatable {
    public let line: String

    public init(line: String) {
        self.line = line
    }
}

/// Splitting helpers that mirror the Ruby calls the original parsers use, so that replies are
/// cut at exactly the same places.
enum RubySplit {
    /// `text.split(" ")`: runs of blanks separate words, leading blanks are ignored.
    static func words(_ text: Substring) -> [Substring] {
        text.split(separator: " ", omittingEmptySubsequences: true)
    }

    /// `text.split(" ", 2)`: the first word and the rest (leading blanks of the rest dropped).
    static func firstWordAndRest(_ text: Substring) -> (Substring, Substring?) {
        let trimmed = text.drop(while: { $0 == " " })
        guard let space = trimmed.firstIndex(of: " ") else { return (trimmed, nil) }
        return (trimmed[..<space], trimmed[space...].drop(while: { $0 == " " }))
    }

    /// Every `STAT ` (or `META `) removed, like `gsub(/STAT /, '')`.
    static func removingAll(_ marker: String, from line: String) -> Substring {
        let pattern = Array(marker), characters = Array(line)
        var result = ""
        var index = 0
        while index < characters.count {
            if index + pattern.count <= characters.count && characters[index..<(index + pattern.count)].elementsEqual(pattern) {
                index += pattern.count
            } else {
                result.append(characters[index])
                index += 1
            }
        }
        return Substring(result)
    }
}
