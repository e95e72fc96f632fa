/// Why a `flare.xml` could not be read (docs/original-behaviour.md, "flare.xml"). Paths name elements the way
/// flare-tools address them, e.g. `/boost_serialization/node_map/item[2]/second/node_role`
/// (items counted from 1).
public enum FlareXMLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not well-formed XML (line counted from 1).
    case notWellFormed(line: Int, reason: String)
    /// The root element is not `<boost_serialization>`.
    case notAnArchive(root: String)
    /// A required element is absent.
    case missingElement(path: String)
    /// An element that has no place here (unknown, repeated, or a child of a value element).
    case unexpectedElement(path: String)
    /// Character data where only elements belong.
    case unexpectedText(path: String, text: String)
    /// A value element whose text is not what the field holds.
    case invalidValue(path: String, value: String, expected: String)
    /// `<count>` disagrees with the number of `<item>` elements.
    case countMismatch(declared: Int, found: Int)
    /// An item's `<first>` is not the node key of its `<second>`.
    case keyMismatch(path: String, key: String, nodeKey: String)
    /// Two items describe the same node.
    case duplicateNode(String)
    /// Sanity check: a node's thread type must be below the next one to allocate, or a new node
    /// would share a monitor thread type with it.
    case threadTypeNotBelowNext(nodeKey: String, threadType: Int, next: Int)

    public var description: String {
        switch self {
        case .notWellFormed(let line, let reason):
            return "flare.xml is not well-formed XML (line \(line)): \(reason)"
        case .notAnArchive(let root):
            return "flare.xml root element is <\(root)>, not <boost_serialization>"
        case .missingElement(let path):
            return "flare.xml has no \(path)"
        case .unexpectedElement(let path):
            return "flare.xml has an unexpected element \(path)"
        case .unexpectedText(let path, let text):
            return "flare.xml has unexpected text \"\(text)\" in \(path)"
        case .invalidValue(let path, let value, let expected):
            return "flare.xml \(path) is \"\(value)\", expected \(expected)"
        case .countMismatch(let declared, let found):
            return "flare.xml node_map count is \(declared) but it holds \(found) items"
        case .keyMismatch(let path, let key, let nodeKey):
            return "flare.xml \(path) is \"\(key)\" but the node it describes is \(nodeKey)"
        case .duplicateNode(let key):
            return "flare.xml lists node \(key) more than once"
        case .threadTypeNotBelowNext(let key, let threadType, let next):
            return "flare.xml node \(key) has thread_type \(threadType), not below the next thread_type \(next)"
        }
    }
}
