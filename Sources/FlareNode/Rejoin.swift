#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareNet
import Logging

/// The file behind `rejoin-as-slave` (the decisions are `NodeCore`'s): the partition this node
/// served is remembered in `<data-dir>/flared.partition`, rewritten whenever this node's active
/// role changes, and read at start-up. Used from the membership's effect queue (it fsyncs).
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
}
