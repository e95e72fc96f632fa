/// A cell of a TextTable and the side it is padded towards.
public struct TableCell: Equatable, Sendable {
    public enum Alignment: Sendable { case left, right }

    public let text: String
    public let alignment: Alignment

    public init(_ text: String, _ alignment: Alignment = .left) {
        self.text = text
        self.alignment = alignment
    }
}

/// The original's PrettyTable (used by `stats`): every column as wide as its widest cell, cells
/// padded with blanks on the side given by their alignment, columns joined by the separator,
/// rows joined by newlines (no newline after the last row).
public struct TextTable: Equatable, Sendable {
    public private(set) var rows: [[TableCell]] = []
    public let separator: String

    public init(separator: String = " ") {
        self.separator = separator
    }

    public mutating func append(_ row: [TableCell]) {
        rows.append(row)
    }

    public func render() -> String {
        var widths: [Int] = []
        for row in rows {
            for (index, cell) in row.enumerated() {
                if index == widths.count { widths.append(0) }
                widths[index] = max(widths[index], cell.text.count)
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                cell.alignment == .left ? Printf.left(cell.text, widths[index]) : Printf.right(cell.text, widths[index])
            }.joined(separator: separator)
        }.joined(separator: "\n")
    }
}
