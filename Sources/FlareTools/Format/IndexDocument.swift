import FlareCluster

/// The `flare.xml` document `index` prints (docs/original-behaviour.md, "flare.xml"), built from `stats nodes`:
/// nodes in reply order, role/state as numeric codes, only the first `item`/`second` carrying the
/// Boost class attributes, tab indentation, `<thread_type>` one above the highest node thread
/// type. The archive version attribute is the original tool's `4`; readers ignore it.
public enum IndexDocument {
    /// The index's first thread type; an empty map must not hand out lower ones.
    static let firstThreadType = 16

    public static func render(_ map: NodeStatMap, nodeMapVersion: UInt64) -> String {
        var text = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
            <!DOCTYPE boost_serialization>
            <boost_serialization signature="serialization::archive" version="4">
            <version>\(nodeMapVersion)</version>
            <node_map class_id="0" tracking_level="0" version="0">
            \t<count>\(map.nodes.count)</count>
            \t<item_version>0</item_version>

            """
        for (index, node) in map.nodes.enumerated() {
            let itemAttributes = index == 0 ? #" class_id="1" tracking_level="0" version="0""# : ""
            let secondAttributes = index == 0 ? #" class_id="2" tracking_level="0" version="0""# : ""
            text += """
                \t<item\(itemAttributes)>
                \t\t<first>\(node.key)</first>
                \t\t<second\(secondAttributes)>
                \t\t\t<node_server_name>\(node.host)</node_server_name>
                \t\t\t<node_server_port>\(node.port)</node_server_port>
                \t\t\t<node_role>\(node.knownRole.map { String($0.rawValue) } ?? "")</node_role>
                \t\t\t<node_state>\(node.knownState.map { String($0.rawValue) } ?? "")</node_state>
                \t\t\t<node_partition>\(node.partitionText)</node_partition>
                \t\t\t<node_balance>\(node.balanceText)</node_balance>
                \t\t\t<node_thread_type>\(node.threadType)</node_thread_type>
                \t\t</second>
                \t</item>

                """
        }
        let nextThreadType = map.nodes.map { $0.threadType + 1 }.max() ?? firstThreadType
        text += """
            </node_map>
            <thread_type>\(nextThreadType)</thread_type>
            </boost_serialization>

            """
        return text
    }
}
