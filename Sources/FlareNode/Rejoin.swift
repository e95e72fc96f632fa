#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import FlareCluster
import FlareNet
import Logging

/// `rejoin-as-slave`: a node that restarts after failing comes back as a proxy (as in flare), so it
/// never serves stale data as a master. With this setting it then asks to become a slave of the
/// partition it served before, copies it afresh and catches up, like a restarted Raft follower.
///
/// The partition is remembered in `<data-dir>/flared.partition`, rewritten whenever this node's
/// active role changes. Used from the membership's background threads.
struct Rejoin {
    let path: String
    let logger: Logger

    init(dataDir: String, logger: Logger) {
        path = dataDir + "/flared.partition"
        self.logger = logger
    }

    /// Records the partition this node serves (`master 0`, `slave 1`), or forgets it as a proxy.
    func remember(_ me: NodeEntry) {
        guard me.state == .active else { return }
        if me.role == .proxy {
            unlink(path)
            return
        }
        let text = "\(me.role.name) \(me.partition)\n"
        let fd = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = text.withCString { write(fd, $0, strlen($0)) }
        fsync(fd)
        close(fd)
        rename(path + ".tmp", path)
    }

    /// The partition recorded before the restart, if any.
    func recordedPartition() -> Int? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        let words = String(decoding: buffer[0..<n], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 2, words[0] == "master" || words[0] == "slave", let partition = Int(words[1]), partition >= 0 else {
            return nil
        }
        return partition
    }

    /// Waits (in the background) until the index lists this node as an active proxy, then clears
    /// the local data and asks to become a slave of `partition`; the index's push then starts the
    /// usual slave reconstruction.
    func start(partition: Int, membership: NodeMembership, clearData: @escaping @Sendable () -> Void) {
        logger.notice("rejoin-as-slave: will ask to rejoin partition \(partition) as a slave once the index lists this node")
        attempt(partition: partition, membership: membership, clearData: clearData, remaining: 240)
    }

    private func attempt(partition: Int, membership: NodeMembership, clearData: @escaping @Sendable () -> Void, remaining: Int) {
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
            let view = membership.current
            guard !view.standalone, let me = view.me else {
                if remaining > 0 { attempt(partition: partition, membership: membership, clearData: clearData, remaining: remaining - 1) }
                return
            }
            guard me.role == .proxy else {
                logger.notice("rejoin-as-slave: the index kept this node as \(me.role.name) of partition \(me.partition); nothing to do")
                return
            }
            if me.state == .active {
                clearData()
                if membership.tellIndex("node role \(me.name) \(me.port) slave 0 \(partition)") {
                    logger.notice("rejoin-as-slave: rejoining partition \(partition) as a slave")
                    return
                }
                logger.warning("rejoin-as-slave: the index refused to make this node a slave of partition \(partition); retrying")
            }
            if remaining > 0 {
                attempt(partition: partition, membership: membership, clearData: clearData, remaining: remaining - 1)
            } else {
                logger.error("rejoin-as-slave: gave up; the node stays a proxy")
            }
        }
    }
}
