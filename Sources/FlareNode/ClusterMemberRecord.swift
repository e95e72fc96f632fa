#if canImport(Glibc)
import Glibc
#endif

/// `<data-dir>/flared.cluster`: this node has registered with an index server at least once.
/// After a restart such a node waits for the index before serving data (its own may be stale);
/// a node that never joined a cluster serves standalone while it looks for the index.
struct ClusterMemberRecord: Sendable {
    let path: String

    init(dataDir: String) { path = dataDir + "/flared.cluster" }

    var exists: Bool { access(path, F_OK) == 0 }

    func write() {
        guard !exists else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let text = "registered with an index server\n"
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        fsync(fd)
        close(fd)
    }
}
