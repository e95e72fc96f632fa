/// One thread of `stats threads`: its id and the attributes that had a value.
public struct ThreadStat: Equatable, Sendable {
    public let id: String
    public private(set) var fields: [String: String]

    public init(id: String, fields: [String: String] = [:]) {
        self.id = id
        self.fields = fields
    }

    mutating func set(_ name: String, _ value: String?) {
        fields[name] = value
    }

    public subscript(name: String) -> String? { fields[name] }
}

/// The reply to `stats threads` (docs/original-behaviour.md, "stats replies"). Each line (after removing `STAT `) is
/// split at the first `:` into id and rest; of the rest only the first word after the attribute name is
/// kept, so empty values (`op`, `info` of idle threads) are absent, as in the original.
public struct ThreadTable: Equatable, Sendable {
    public let threads: [ThreadStat]

    public init(threads: [ThreadStat]) {
        self.threads = threads
    }

    public init(payload: [String]) throws {
        var threads: [ThreadStat] = []
        var indexById: [String: Int] = [:]
        for line in payload {
            let text = RubySplit.removingAll("STAT ", from: line)
            guard let colon = text.firstIndex(of: ":") else { throw ReplyFormatError(line: line) }
            let id = String(text[..<colon])
            let words = RubySplit.words(text[text.index(after: colon)...])
            guard let attribute = words.first else { throw ReplyFormatError(line: line) }
            if indexById[id] == nil {
                indexById[id] = threads.count
                threads.append(ThreadStat(id: id))
            }
            threads[indexById[id]!].set(String(attribute), words.count > 1 ? String(words[1]) : nil)
        }
        self.init(threads: threads)
    }

    /// Threads merged per `peer` (later threads override earlier ones attribute by attribute),
    /// which is how `stats` finds the index's monitor thread of a node and its `behind`.
    public var byPeer: [String: ThreadStat] {
        var merged: [String: ThreadStat] = [:]
        for thread in threads {
            let peer = thread["peer"] ?? ""
            var entry = merged[peer] ?? ThreadStat(id: thread.id)
            for (name, value) in thread.fields { entry.set(name, value) }
            merged[peer] = entry
        }
        return merged
    }
}
