#if canImport(Glibc)
import Glibc
#endif
import Atomics
import FlareCluster
import FlareNet
import Logging

/// `<data-dir>/flared.applied`: how far this node got with its master's copies while it was an
/// active slave — `<applied-version> <master node key> <partition> <node map version>` — so that
/// `rejoin-as-slave` can ask that master's backlog for the rest after a restart.
struct SlaveProgressRecord: Sendable {
    let path: String

    init(dataDir: String) { path = dataDir + "/flared.applied" }

    /// Replaces the record (written to a temporary file and renamed, so a reader never sees half
    /// of it). `sync` at shutdown only: the periodic writes must not fsync every 100 ms, and the
    /// data they describe is not synced either (a crash of the machine loses both).
    func write(_ progress: SlaveProgress, sync: Bool = false) {
        let text = "\(progress.appliedVersion) \(progress.master) \(progress.partition) \(progress.mapVersion)\n"
        let fd = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        if sync { fsync(fd) }
        close(fd)
        rename(path + ".tmp", path)
    }

    func remove() { unlink(path) }

    func read() -> SlaveProgress? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = Glibc.read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        let words = String(decoding: buffer[0..<n], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 4, let version = UInt64(words[0]), version > 0, let partition = Int(words[2]), partition >= 0,
              let mapVersion = UInt64(words[3]) else { return nil }
        return SlaveProgress(master: String(words[1]), partition: partition, appliedVersion: version, mapVersion: mapVersion)
    }
}

/// The highest copy version each worker applied from a master, published for the recorder (one
/// atomic per worker, written only by that worker: no contention on the write path).
final class AppliedVersions: Sendable {
    private let perWorker: [ManagedAtomic<UInt64>]
    /// Copies applied off the workers (a catch-up from the backlog).
    let caughtUp = ManagedAtomic<UInt64>(0)

    init(workers: Int) { perWorker = (0..<max(1, workers)).map { _ in ManagedAtomic(0) } }

    @inline(__always)
    func applied(_ version: UInt64, worker: Int) {
        let slot = perWorker[worker % perWorker.count]
        if version > slot.load(ordering: .relaxed) { slot.store(version, ordering: .relaxed) }
    }

    var highest: UInt64 { perWorker.reduce(caughtUp.load(ordering: .relaxed)) { max($0, $1.load(ordering: .relaxed)) } }

    func reset() {
        for slot in perWorker { slot.store(0, ordering: .relaxed) }
        caughtUp.store(0, ordering: .relaxed)
    }
}

/// Writes `flared.applied` every 100 ms on a thread of its own (never a worker: it writes a file),
/// while this node is an active slave: then its data holds every copy of the master's stream up to
/// the applied version, except those within the catch-up margin below it. Not while the slave is
/// being built (its data is incomplete) and never for a master or non-persistent storage.
final class SlaveProgressRecorder: @unchecked Sendable {
    private let record: SlaveProgressRecord
    private let applied: AppliedVersions
    private let current: @Sendable () -> ClusterView
    private let running = ManagedAtomic<Bool>(true)
    private var written: SlaveProgress?
    private var removed = false
    private var thread = pthread_t()

    init(record: SlaveProgressRecord, applied: AppliedVersions, current: @escaping @Sendable () -> ClusterView) {
        self.record = record
        self.applied = applied
        self.current = current
    }

    func start() {
        let retained = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { arg in
            Unmanaged<SlaveProgressRecorder>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, retained)
    }

    /// Stops the thread and writes the last progress durably (at shutdown).
    func stop() {
        running.store(false, ordering: .relaxed)
        pthread_join(thread, nil)
        recordOnce(sync: true)
    }

    private func run() {
        while running.load(ordering: .relaxed) {
            recordOnce(sync: false)
            usleep(100_000)
        }
    }

    private func recordOnce(sync: Bool) {
        let view = current()
        guard let me = view.me, !view.standalone else { return }
        if me.role == .master {
            // A former master always copies afresh.
            if !removed { record.remove() }
            removed = true
            written = nil
            return
        }
        guard me.role == .slave, me.state == .active, let master = view.layout.master(of: me.partition) else { return }
        let version = applied.highest
        guard version > 0 else { return }
        let progress = SlaveProgress(master: master.nodeKey, partition: me.partition, appliedVersion: version, mapVersion: view.version)
        guard progress != written || sync else { return }
        record.write(progress, sync: sync)
        written = progress
        removed = false
    }
}
