import Dispatch
import FlareNet

/// What the index server's workers share. Immutable after start-up but for the reloadable parts,
/// which are behind their own locks.
final class IndexContext: @unchecked Sendable {
    struct Meta {
        let partitionSize: Int
        let keyHashAlgorithm: String
        let hint: Int
        let virtual: Int
    }

    let coordinator: Coordinator
    let meta: Meta
    let showVariables: @Sendable () -> [String]
    var server: Server!
    /// Runs every change command, one at a time, off the event loops (`IndexHandler.runChange`).
    let changeQueue = DispatchQueue(label: "flarei.changes")

    init(coordinator: Coordinator, meta: Meta, showVariables: @escaping @Sendable () -> [String]) {
        self.coordinator = coordinator
        self.meta = meta
        self.showVariables = showVariables
    }
}
