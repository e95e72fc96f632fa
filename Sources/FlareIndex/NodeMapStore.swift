import FlareCluster

/// Where the deciding index saves each new node map before it pushes it: `flare.xml`
/// (`MapFile`) or the ZooKeeper tree (`ZooKeeperMapStore`). Called under the coordinator's lock.
protocol NodeMapStore: Sendable {
    func save(_ state: IndexState) throws(IndexCommandError)
}

extension MapFile: NodeMapStore {
    func save(_ state: IndexState) throws(IndexCommandError) {
        do throws(Failure) {
            try store(state)
        } catch {
            throw IndexCommandError(error.description)
        }
    }
}
