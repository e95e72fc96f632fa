/// Lines of a `show variables` reply in the original's layout: `name:` padded
/// with spaces to a fixed column, then the value. A label that already fills
/// the column is followed directly by the value, a longer one by one space
/// (`reconstruction_interval:0`, `cluster_replication_mode: duplicate`),
/// exactly as the original's hand-aligned string literals produce.
struct VariablesTable {
    let valueColumn: Int
    private(set) var lines: [String] = []

    init(valueColumn: Int) {
        self.valueColumn = valueColumn
    }

    mutating func add(_ name: String, _ value: String) {
        let label = name + ":"
        let gap = label.count < valueColumn ? valueColumn - label.count : (label.count == valueColumn ? 0 : 1)
        lines.append(label + String(repeating: " ", count: gap) + value)
    }

    mutating func add(_ name: String, _ value: Int) {
        add(name, String(value))
    }

    mutating func add(_ name: String, _ value: Bool) {
        add(name, value ? "true" : "false")
    }
}
