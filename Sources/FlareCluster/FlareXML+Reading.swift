/// Interprets the element tree of a `flare.xml` (docs/original-behaviour.md, "flare.xml"). Elements are found by
/// name; unknown or repeated ones are refused rather than ignored, since a file that does not
/// have the original's shape was not written by something that understands the node map.
enum ArchiveReader {
    private static let rootPath = "/boost_serialization"

    static func state(from root: XMLElementTree) throws(FlareXMLError) -> IndexState {
        var top = try Fields(root, path: rootPath, allowed: ["version", "node_map", "thread_type"])
        // The older format has no <version>: the map version then starts again at 0.
        let version = try top.optional("version").map { element throws(FlareXMLError) in
            try number(element, path: "\(rootPath)/version", as: UInt64.self, expected: "an unsigned 64-bit integer")
        } ?? 0
        let nodes = try self.nodes(try top.required("node_map"), path: "\(rootPath)/node_map")
        let nextThreadType = try int(try top.required("thread_type"), path: "\(rootPath)/thread_type")

        var map = NodeMap()
        for node in nodes {
            guard map[nodeKey: node.nodeKey] == nil else { throw .duplicateNode(node.nodeKey) }
            map.upsert(node)
        }
        for node in map.entries where node.threadType >= nextThreadType {
            throw .threadTypeNotBelowNext(nodeKey: node.nodeKey, threadType: node.threadType, next: nextThreadType)
        }
        return IndexState(map: map, version: version, nextThreadType: nextThreadType)
    }

    private static func nodes(_ element: XMLElementTree, path: String) throws(FlareXMLError) -> [NodeEntry] {
        var fields = try Fields(element, path: path, allowed: ["count", "item_version"], repeated: "item")
        let declared = try int(try fields.required("count"), path: "\(path)/count")
        // Boost omits <item_version> in archives older than its library version 4.
        _ = try fields.optional("item_version").map { element throws(FlareXMLError) in
            try int(element, path: "\(path)/item_version")
        }
        let items = fields.repeatedElements
        guard declared == items.count else { throw .countMismatch(declared: declared, found: items.count) }

        var nodes: [NodeEntry] = []
        for (index, item) in items.enumerated() {
            nodes.append(try node(item, path: "\(path)/item[\(index + 1)]"))
        }
        return nodes
    }

    private static func node(_ item: XMLElementTree, path: String) throws(FlareXMLError) -> NodeEntry {
        var pair = try Fields(item, path: path, allowed: ["first", "second"])
        let key = try leafText(try pair.required("first"), path: "\(path)/first")
        let secondPath = "\(path)/second"
        var fields = try Fields(try pair.required("second"), path: secondPath, allowed: [
            "node_server_name", "node_server_port", "node_role", "node_state",
            "node_partition", "node_balance", "node_thread_type",
        ])

        let name = try leafText(try fields.required("node_server_name"), path: "\(secondPath)/node_server_name")
        let portPath = "\(secondPath)/node_server_port"
        let port = try int(try fields.required("node_server_port"), path: portPath)
        guard (0...65535).contains(port) else {
            throw .invalidValue(path: portPath, value: "\(port)", expected: "a port 0…65535")
        }
        let rolePath = "\(secondPath)/node_role"
        let roleCode = try int(try fields.required("node_role"), path: rolePath)
        guard let role = NodeRole(rawValue: roleCode) else {
            throw .invalidValue(path: rolePath, value: "\(roleCode)", expected: "0 (master), 1 (slave) or 2 (proxy)")
        }
        let statePath = "\(secondPath)/node_state"
        let stateCode = try int(try fields.required("node_state"), path: statePath)
        guard let state = NodeState(rawValue: stateCode) else {
            throw .invalidValue(path: statePath, value: "\(stateCode)", expected: "0 (active), 1 (prepare), 2 (down) or 3 (ready)")
        }
        let node = NodeEntry(
            name: name, port: port, role: role, state: state,
            partition: try int(try fields.required("node_partition"), path: "\(secondPath)/node_partition"),
            balance: try int(try fields.required("node_balance"), path: "\(secondPath)/node_balance"),
            threadType: try int(try fields.required("node_thread_type"), path: "\(secondPath)/node_thread_type")
        )
        // The key is what the original indexes the node by; one that disagrees with the node's
        // own name and port would make two different identities for it.
        guard key.utf8.elementsEqual(node.nodeKey.utf8) else {
            throw .keyMismatch(path: "\(path)/first", key: key, nodeKey: node.nodeKey)
        }
        return node
    }

    // MARK: Values

    /// The text of an element that holds a value and no elements.
    private static func leafText(_ element: XMLElementTree, path: String) throws(FlareXMLError) -> String {
        if let child = element.children.first { throw .unexpectedElement(path: "\(path)/\(child.name)") }
        return element.text
    }

    /// A C `int`, as Boost reads it: surrounding whitespace allowed, optional sign, digits.
    private static func int(_ element: XMLElementTree, path: String) throws(FlareXMLError) -> Int {
        Int(try number(element, path: path, as: Int32.self, expected: "an integer"))
    }

    private static func number<Value: FixedWidthInteger>(
        _ element: XMLElementTree, path: String, as type: Value.Type, expected: String
    ) throws(FlareXMLError) -> Value {
        let text = try leafText(element, path: path)
        let trimmed = text.trimmingXMLWhitespace()
        guard let value = Value(trimmed, radix: 10) else {
            throw .invalidValue(path: path, value: text, expected: expected)
        }
        return value
    }
}

/// The child elements of one element, taken by name.
private struct Fields {
    private var byName: [String: XMLElementTree]
    let repeatedElements: [XMLElementTree]
    private let path: String

    /// Refuses character data other than whitespace, children not in `allowed` (or named
    /// `repeated`), and a repeated child that is not `repeated`.
    init(_ element: XMLElementTree, path: String, allowed: Set<String>, repeated: String? = nil) throws(FlareXMLError) {
        let stray = element.text.trimmingXMLWhitespace()
        guard stray.isEmpty else { throw .unexpectedText(path: path, text: String(stray)) }
        var byName: [String: XMLElementTree] = [:]
        var repeatedElements: [XMLElementTree] = []
        for child in element.children {
            if child.name == repeated {
                repeatedElements.append(child)
            } else if allowed.contains(child.name), byName[child.name] == nil {
                byName[child.name] = child
            } else {
                throw .unexpectedElement(path: "\(path)/\(child.name)")
            }
        }
        self.byName = byName
        self.repeatedElements = repeatedElements
        self.path = path
    }

    mutating func required(_ name: String) throws(FlareXMLError) -> XMLElementTree {
        guard let element = byName.removeValue(forKey: name) else { throw .missingElement(path: "\(path)/\(name)") }
        return element
    }

    mutating func optional(_ name: String) -> XMLElementTree? {
        byName.removeValue(forKey: name)
    }
}

extension String {
    /// Without leading and trailing XML whitespace (space, tab, CR, LF).
    fileprivate func trimmingXMLWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
