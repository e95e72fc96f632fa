/// The `NODE <name> <port> <role#> <state#> <partition> <balance> <thread_type>` line of
/// `node add` replies and `node sync` pushes (docs/original-behaviour.md, "Index server commands" and "Partition tables
/// and node sync").
extension NodeEntry {
    /// The line without its `\r\n` terminator.
    public var nodeLine: String {
        "NODE \(name) \(port) \(role.rawValue) \(state.rawValue) \(partition) \(balance) \(threadType)"
    }

    /// Reads one `NODE` line. A trailing `\n` / `\r\n` is ignored, words are separated by runs
    /// of spaces (0x20 only), and words after the thread type are ignored as the original does.
    public init(nodeLine line: UnsafeRawBufferPointer) throws(NodeLineError) {
        var words = SpaceSeparatedWords(Self.withoutLineTerminator(line))
        let first = words.next()
        guard let first, first.elementsEqual("NODE".utf8) else {
            throw .notANodeLine(first.map { String(decoding: $0, as: UTF8.self) } ?? "")
        }
        guard let nameBytes = words.next() else { throw .missingField("server name") }
        guard let name = String(validating: nameBytes, as: UTF8.self) else { throw .invalidName }

        func integer(_ field: String) throws(NodeLineError) -> Int {
            guard let word = words.next() else { throw .missingField(field) }
            guard let value = Self.cInt(word) else {
                throw .notAnInteger(field: field, word: String(decoding: word, as: UTF8.self))
            }
            return value
        }
        let port = try integer("port")
        let roleCode = try integer("role")
        let stateCode = try integer("state")
        let partition = try integer("partition")
        let balance = try integer("balance")
        let threadType = try integer("thread type")

        guard (0...65535).contains(port) else { throw .portOutOfRange(port) }
        guard let role = NodeRole(rawValue: roleCode) else { throw .unknownRole(roleCode) }
        guard let state = NodeState(rawValue: stateCode) else { throw .unknownState(stateCode) }
        self.init(name: name, port: port, role: role, state: state,
                  partition: partition, balance: balance, threadType: threadType)
    }

    /// Convenience for a line held as a `String`.
    public init(nodeLine line: String) throws(NodeLineError) {
        var line = line
        // withUTF8 cannot forward a typed throw, so the result travels out as a value.
        let result: Result<NodeEntry, NodeLineError> = line.withUTF8 { bytes in
            do throws(NodeLineError) {
                return .success(try NodeEntry(nodeLine: UnsafeRawBufferPointer(bytes)))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }

    private static func withoutLineTerminator(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var end = line.count
        if end > 0 && line[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        if end > 0 && line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: line[0..<end])
    }

    /// A decimal C `int`: optional `-`, digits only (the original's lexical_cast<int>).
    private static func cInt(_ word: UnsafeRawBufferPointer) -> Int? {
        var digits = word[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 10 else { return nil }
        var magnitude = 0
        for byte in digits {
            let digit = Int(byte) - Int(UInt8(ascii: "0"))
            guard (0...9).contains(digit) else { return nil }
            magnitude = magnitude * 10 + digit
        }
        let value = negative ? -magnitude : magnitude
        return (Int(Int32.min)...Int(Int32.max)).contains(value) ? value : nil
    }
}

/// Words of a line separated by runs of spaces (0x20 only, as everywhere on flare's wire).
struct SpaceSeparatedWords: IteratorProtocol {
    private let line: UnsafeRawBufferPointer
    private var position = 0

    init(_ line: UnsafeRawBufferPointer) { self.line = line }

    mutating func next() -> UnsafeRawBufferPointer? {
        let space = UInt8(ascii: " ")
        while position < line.count && line[position] == space { position += 1 }
        guard position < line.count else { return nil }
        let start = position
        while position < line.count && line[position] != space { position += 1 }
        return UnsafeRawBufferPointer(rebasing: line[start..<position])
    }
}
