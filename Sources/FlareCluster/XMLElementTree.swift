/// A minimal XML reader for `flare.xml`: elements, attributes and character data, with the
/// XML declaration, DOCTYPE, comments, processing instructions and CDATA handled. No
/// namespaces, no DTD entities — a Boost archive uses none.
struct XMLElementTree: Equatable {
    let name: String
    let attributes: [String: String]
    let children: [XMLElementTree]
    /// The element's own character data, entities decoded.
    let text: String

    /// Parses a whole document and returns its root element.
    static func parse(_ document: String) throws(FlareXMLError) -> XMLElementTree {
        var reader = Reader(Array(document.utf8))
        return try reader.document()
    }
}

private struct Reader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws(FlareXMLError) -> XMLElementTree {
        if starts(with: [0xEF, 0xBB, 0xBF]) { position += 3 }
        try skipMisc(allowDoctype: true)
        guard peek == UInt8(ascii: "<") else { throw failure("expected the root element") }
        let root = try element()
        try skipMisc(allowDoctype: false)
        guard position == bytes.count else { throw failure("content after the root element </\(root.name)>") }
        return root
    }

    // MARK: Elements

    private mutating func element() throws(FlareXMLError) -> XMLElementTree {
        position += 1  // "<"
        let name = try xmlName("element name")
        var attributes: [String: String] = [:]
        while true {
            let hadSpace = skipWhitespace()
            if consume("/>") {
                return XMLElementTree(name: name, attributes: attributes, children: [], text: "")
            }
            if consume(">") { break }
            guard hadSpace else { throw failure("malformed start tag <\(name)>") }
            let attribute = try xmlName("attribute name in <\(name)>")
            skipWhitespace()
            guard consume("=") else { throw failure("attribute \(attribute) of <\(name)> has no value") }
            skipWhitespace()
            let value = try quoted(attribute)
            guard attributes.updateValue(value, forKey: attribute) == nil else {
                throw failure("attribute \(attribute) repeated in <\(name)>")
            }
        }

        var children: [XMLElementTree] = []
        var text = ""
        while true {
            guard position < bytes.count else { throw failure("<\(name)> is not closed") }
            if consume("</") {
                let closing = try xmlName("end tag name")
                skipWhitespace()
                guard consume(">") else { throw failure("malformed end tag </\(closing)>") }
                guard closing == name else { throw failure("</\(closing)> closes <\(name)>") }
                return XMLElementTree(name: name, attributes: attributes, children: children, text: text)
            } else if consume("<!--") {
                try skip(past: "-->", what: "comment")
            } else if consume("<![CDATA[") {
                let start = position
                try skip(past: "]]>", what: "CDATA section")
                text += String(decoding: bytes[start..<(position - 3)], as: UTF8.self)
            } else if consume("<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if peek == UInt8(ascii: "<") {
                children.append(try element())
            } else {
                text += try characterData(until: UInt8(ascii: "<"), what: "text of <\(name)>")
            }
        }
    }

    private mutating func quoted(_ attribute: String) throws(FlareXMLError) -> String {
        guard let quote = peek, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
            throw failure("value of attribute \(attribute) is not quoted")
        }
        position += 1
        let value = try characterData(until: quote, what: "attribute \(attribute)")
        guard consume(quote) else { throw failure("value of attribute \(attribute) is not closed") }
        return value
    }

    /// Character data up to (not including) `end`, with entity and character references
    /// decoded. A `<` inside an attribute value is an error, as in XML.
    private mutating func characterData(until end: UInt8, what: String) throws(FlareXMLError) -> String {
        var decoded: [UInt8] = []
        while let byte = peek, byte != end {
            if byte == UInt8(ascii: "&") {
                decoded += try reference(in: what)
            } else if byte == UInt8(ascii: "<") {
                throw failure("\"<\" in \(what)")
            } else {
                decoded.append(byte)
                position += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private mutating func reference(in what: String) throws(FlareXMLError) -> [UInt8] {
        position += 1  // "&"
        let start = position
        while let byte = peek, byte != UInt8(ascii: ";") {
            guard position - start < 12 else { throw failure("unterminated entity reference in \(what)") }
            position += 1
        }
        guard position < bytes.count else { throw failure("unterminated entity reference in \(what)") }
        let entity = String(decoding: bytes[start..<position], as: UTF8.self)
        position += 1  // ";"
        switch entity {
        case "lt": return Array("<".utf8)
        case "gt": return Array(">".utf8)
        case "amp": return Array("&".utf8)
        case "quot": return Array("\"".utf8)
        case "apos": return Array("'".utf8)
        default:
            var digits = Substring(entity)
            guard digits.first == "#" else { throw failure("unknown entity &\(entity); in \(what)") }
            digits = digits.dropFirst()
            var radix = 10
            if digits.first == "x" {
                radix = 16
                digits = digits.dropFirst()
            }
            guard let code = UInt32(digits, radix: radix), let scalar = Unicode.Scalar(code) else {
                throw failure("invalid character reference &\(entity); in \(what)")
            }
            return Array(String(Character(scalar)).utf8)
        }
    }

    // MARK: Prolog and epilog

    /// Whitespace, comments, processing instructions (the XML declaration among them) and,
    /// before the root, the DOCTYPE.
    private mutating func skipMisc(allowDoctype: Bool) throws(FlareXMLError) {
        while true {
            skipWhitespace()
            if consume("<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if consume("<!--") {
                try skip(past: "-->", what: "comment")
            } else if allowDoctype && consume("<!DOCTYPE") {
                try skipDoctype()
            } else {
                return
            }
        }
    }

    private mutating func skipDoctype() throws(FlareXMLError) {
        var inInternalSubset = false
        while let byte = peek {
            position += 1
            switch byte {
            case UInt8(ascii: "["): inInternalSubset = true
            case UInt8(ascii: "]"): inInternalSubset = false
            case UInt8(ascii: ">") where !inInternalSubset: return
            default: break
            }
        }
        throw failure("DOCTYPE is not closed")
    }

    // MARK: Lexical helpers

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func starts(with literal: [UInt8]) -> Bool {
        bytes.count - position >= literal.count && bytes[position..<(position + literal.count)].elementsEqual(literal)
    }

    private mutating func consume(_ literal: String) -> Bool {
        let literal = Array(literal.utf8)
        guard starts(with: literal) else { return false }
        position += literal.count
        return true
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    private mutating func skip(past terminator: String, what: String) throws(FlareXMLError) {
        let literal = Array(terminator.utf8)
        while position < bytes.count {
            if starts(with: literal) {
                position += literal.count
                return
            }
            position += 1
        }
        throw failure("\(what) is not closed")
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = position
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
        return position > start
    }

    private mutating func xmlName(_ what: String) throws(FlareXMLError) -> String {
        let start = position
        while let byte = peek, Self.isNameByte(byte, first: position == start) { position += 1 }
        guard position > start else { throw failure("expected \(what)") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private static func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "_"), UInt8(ascii: ":"), 0x80...0xFF:
            return true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return !first
        default:
            return false
        }
    }

    private func failure(_ reason: String) -> FlareXMLError {
        let line = 1 + bytes[..<min(position, bytes.count)].lazy.filter { $0 == 0x0A }.count
        return .notWellFormed(line: line, reason: reason)
    }
}
