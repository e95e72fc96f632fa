/// The entry shapes the index's transitions leave a node in (docs/original-behaviour.md, "Index server commands").
extension NodeEntry {
    /// `proxy/active/-1/0`: the node leaves its partition and stays up.
    mutating func becomeActiveProxy() {
        role = .proxy
        state = .active
        partition = -1
        balance = 0
    }

    /// `proxy/down/-1/0`: a node that went down gives up its role.
    mutating func becomeDownProxy() {
        role = .proxy
        state = .down
        partition = -1
        balance = 0
    }
}
