/// `flare.xml`, the index's persisted state (docs/original-behaviour.md, "flare.xml"): a Boost.Serialization XML
/// archive of the node map version, the node map and the next thread type. The same text is
/// the ZooKeeper node map data, and flare-tools read and write this layout.
public enum FlareXML {
    /// The Boost archive version written in the root element. Readers ignore it (it varies
    /// with the Boost release); 18 is what the original wrote (docs/original-behaviour.md, "Recorded exchanges").
    public static let boostArchiveVersion = 18

    /// The archive exactly as Boost's `xml_oarchive` lays it out: tab indentation, class
    /// attributes only on the first `<item>` and `<second>`, and a blank line at the end (the
    /// archive's own trailing newline followed by the `std::endl` Boost adds when it closes).
    public static func encode(_ state: IndexState) -> String {
        var text = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
            <!DOCTYPE boost_serialization>
            <boost_serialization signature="serialization::archive" version="\(boostArchiveVersion)">
            <version>\(state.version)</version>
            <node_map class_id="0" tracking_level="0" version="0">
            \t<count>\(state.map.count)</count>
            \t<item_version>0</item_version>

            """
        for (index, node) in state.map.entries.enumerated() {
            let first = index == 0
            text += first ? "\t<item class_id=\"1\" tracking_level=\"0\" version=\"0\">\n" : "\t<item>\n"
            text += "\t\t<first>\(escaped(node.nodeKey))</first>\n"
            text += first ? "\t\t<second class_id=\"2\" tracking_level=\"0\" version=\"0\">\n" : "\t\t<second>\n"
            text += "\t\t\t<node_server_name>\(escaped(node.name))</node_server_name>\n"
            text += "\t\t\t<node_server_port>\(node.port)</node_server_port>\n"
            text += "\t\t\t<node_role>\(node.role.rawValue)</node_role>\n"
            text += "\t\t\t<node_state>\(node.state.rawValue)</node_state>\n"
            text += "\t\t\t<node_partition>\(node.partition)</node_partition>\n"
            text += "\t\t\t<node_balance>\(node.balance)</node_balance>\n"
            text += "\t\t\t<node_thread_type>\(node.threadType)</node_thread_type>\n"
            text += "\t\t</second>\n"
            text += "\t</item>\n"
        }
        text += "</node_map>\n"
        text += "<thread_type>\(state.nextThreadType)</thread_type>\n"
        text += "</boost_serialization>\n\n"
        return text
    }

    /// Reads an archive written by `encode`, by the original or by flare-tools.
    ///
    /// An archive without `<version>` (the older format) has version 0. Empty text is the
    /// state of a new index, as the original skips parsing then. Every node's thread type must
    /// be below `<thread_type>`, or the file is refused.
    public static func decode(_ text: String) throws(FlareXMLError) -> IndexState {
        guard !text.isEmpty else { return IndexState() }
        let root = try XMLElementTree.parse(text)
        guard root.name == "boost_serialization" else { throw .notAnArchive(root: root.name) }
        return try ArchiveReader.state(from: root)
    }

    /// Boost's `xml_escape` set: the characters a name could break the markup with.
    private static func escaped(_ value: String) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}
