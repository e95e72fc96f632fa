import FlareCluster
import FlareZooKeeper
import Synchronization

/// The leader's writes of `index/nodemap`. Each write is conditional on the znode version this
/// index last read or wrote: if anyone else wrote since (a second index that believes it leads),
/// the write fails and the change is refused, so two deciders can never both succeed.
final class ZooKeeperMapStore: NodeMapStore {
    private struct Current: Sendable {
        var session: ZooKeeperSession?
        var version: Int32 = -1
    }

    private let tree: IndexTree
    private let current = Mutex(Current())
    /// Told when a write met a newer znode version (someone wrote the map by hand, e.g.
    /// `flare-zkadmin import`): the leader then reads the tree again before its next change.
    private let conflict = Mutex<(@Sendable () -> Void)?>(nil)

    init(tree: IndexTree) { self.tree = tree }

    func onConflict(_ handler: @escaping @Sendable () -> Void) {
        conflict.withLock { $0 = handler }
    }

    /// The session and the znode version read when this index took the lead.
    func reset(session: ZooKeeperSession?, version: Int32) {
        current.withLock { $0 = Current(session: session, version: version) }
    }

    /// Held across a write and the record of its new version: the watch that write fires may be
    /// handled before the write call returns, and must not be taken for someone else's write.
    private let writing = Mutex(())

    /// The znode version this leader last read or wrote (-1 when not leading), once any write
    /// under way has finished.
    var expectedVersion: Int32 { writing.withLock { _ in current.withLock { $0.version } } }

    func save(_ state: IndexState) throws(IndexCommandError) {
        try writing.withLock { (_: inout ()) throws(IndexCommandError) in try write(state) }
    }

    private func write(_ state: IndexState) throws(IndexCommandError) {
        let (session, version) = current.withLock { ($0.session, $0.version) }
        guard let session, version >= 0 else {
            throw IndexCommandError("not connected to ZooKeeper: the node map cannot be saved")
        }
        do {
            let written = try session.set(tree.nodemap, data: Array(FlareXML.encode(state).utf8), version: version)
            current.withLock { if $0.session === session { $0.version = written } }
        } catch {
            if error.isBadVersion {
                conflict.withLock { $0 }?()
                throw IndexCommandError("\(tree.nodemap) was changed by another index server since this one took the lead: the change is not applied")
            }
            throw IndexCommandError("cannot save the node map: \(error)")
        }
    }
}
