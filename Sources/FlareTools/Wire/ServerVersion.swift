/// The answer to `version`, as flare-tools interprets it: `VERSION flare-1.3.4` gives server
/// `flare` and numbers [1, 3, 4]; any other first word counts as version 0.0.0.
public struct ServerVersion: Equatable, Sendable, CustomStringConvertible {
    public let server: String
    public let numbers: [Int]

    public init(server: String, numbers: [Int]) {
        self.server = server
        self.numbers = numbers
    }

    public init(versionReply line: String) {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 2, words[0] == "VERSION" else {
            self.init(server: "flare", numbers: [0, 0, 0])
            return
        }
        var parts = words[1].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        var server = "flare"
        if parts.count > 1 { server = parts.removeFirst() }
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false).map { RubyNumber.integer(String($0)) }
        self.init(server: server, numbers: numbers)
    }

    /// Component-wise comparison where missing components count as 0.
    public func isAtLeast(_ required: [Int]) -> Bool {
        for (index, wanted) in required.enumerated() {
            let have = index < numbers.count ? numbers[index] : 0
            if have != wanted { return have > wanted }
        }
        return true
    }

    /// `stats threads` exists from flare 1.0.10 on; older servers are not asked.
    public var supportsThreadStats: Bool { isAtLeast([1, 0, 10]) }

    public var description: String { "\(server)-" + numbers.map(String.init).joined(separator: ".") }
}
