import Foundation

/// The line `flare-admin list` prints for a node: `%-32s %9s %6s %6s %7s`.
func listLine(_ key: String, partition: Int, role: String, state: String, balance: Int) -> String {
    func left(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    func right(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
    return [left(key, 32), right(partition < 0 ? "-" : String(partition), 9), right(role, 6), right(state, 6),
            right(String(balance), 7)].joined(separator: " ")
}

/// Keys `prefix0 … prefix<count-1>`.
func keyNames(_ prefix: String, _ count: Int) -> [String] { (0..<count).map { "\(prefix)\($0)" } }

extension Dictionary where Key == String, Value == NodeEntryStat {
    var summary: String {
        sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.role)/\($0.value.state)/\($0.value.partition)/\($0.value.balance)" }
            .joined(separator: " ")
    }
}
