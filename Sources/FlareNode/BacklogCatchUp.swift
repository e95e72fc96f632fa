#if canImport(Glibc)
import Glibc
#endif
import FlareCluster
import FlareNet
import FlareProtocol
import FlareStorage
import Logging

/// A rejoining slave asks its master for the copies it may lack (`backlog …`) and applies them, on
/// a thread of its own. The copies are applied like replicated writes — each with its version, so
/// the live stream, which starts at the same time, and this replay may interleave in any order.
final class BacklogCatchUp: Sendable {
    private let source: NodeCatchUpSource
    private let store: ItemStore
    private let clock: ServerClock
    private let applied: AppliedVersions
    private let limits: ParserLimits
    private let finished: @Sendable (CatchUpOutcome) -> Void

    struct NodeCatchUpSource {
        let node: NodeEntry
        let request: String
    }

    /// The node map the master must route by before its backlog is read (SourceMapWait).
    private let minimumSourceVersion: UInt64

    init(source: NodeCatchUpSource, store: ItemStore, clock: ServerClock, applied: AppliedVersions, limits: ParserLimits,
         minimumSourceVersion: UInt64, finished: @escaping @Sendable (CatchUpOutcome) -> Void) {
        self.minimumSourceVersion = minimumSourceVersion
        self.limits = limits
        self.source = source
        self.store = store
        self.clock = clock
        self.applied = applied
        self.finished = finished
    }

    /// Runs on a thread of `work`; a node shutting down wakes it (its socket is shut) and it
    /// reports failure.
    func start(in work: BackgroundWork) {
        let started = work.spawn("backlog catch-up") { [self] job in run(job) }
        if !started { finished(.failed("backlog: the node is shutting down")) }
    }

    private func run(_ job: BackgroundWork.Job) {
        let started = ServerClock.monotonicMilliseconds()
        do {
            let copies = try replay(job)
            finished(.caughtUp(copies: copies, milliseconds: ServerClock.monotonicMilliseconds() - started))
        } catch {
            finished(.failed((error as? Reconstruction.Failure)?.description ?? "backlog: \(error)"))
        }
    }

    private func replay(_ job: BackgroundWork.Job) throws -> Int {
        let master = source.node.nodeKey
        guard let fd = LineClient.connect(host: source.node.name, port: source.node.port, timeoutMilliseconds: 2000) else {
            throw Reconstruction.Failure(description: "backlog: cannot connect to \(master)")
        }
        job.whenStopping { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        defer {
            job.whenStopping(nil)
            close(fd)
        }
        LineClient.setTimeout(fd, milliseconds: 10_000)
        if let problem = SourceMapWait.wait(fd: fd, source: master, minimum: minimumSourceVersion) {
            throw Reconstruction.Failure(description: "backlog: \(problem)")
        }
        guard LineClient.send(fd, source.request + "\r\n") else {
            throw Reconstruction.Failure(description: "backlog: cannot send '\(source.request)' to \(master)")
        }
        let parser = RequestParser(limits: limits)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var start = 0
        var end = 0
        var copies = 0
        var highest: UInt64 = 0
        while true {
            // Apply every complete copy in the buffer.
            var needed = 0
            let done = try buffer.withUnsafeBytes { raw throws -> Bool in
                while start < end {
                    let available = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                    if available.starts(with: "END\r\n".utf8) { return true }
                    if available.starts(with: "SERVER_ERROR".utf8) || available.starts(with: "CLIENT_ERROR".utf8)
                        || available.starts(with: "ERROR".utf8) {
                        guard let newline = available.firstIndex(of: 0x0A) else { needed = available.count + 1; return false }
                        let line = String(decoding: available[..<newline], as: UTF8.self)
                        throw Reconstruction.Failure(description: line.hasPrefix("SERVER_ERROR ") ? String(line.dropFirst(13).prefix { $0 != "\r" })
                                                                                  : "\(master) answered '\(line)'")
                    }
                    if available.count < 5 && "END\r\n".utf8.starts(with: available) { needed = 5; return false }
                    switch parser.parse(available) {
                    case .request(let request, let consumed):
                        try apply(request, from: master)
                        highest = max(highest, request.version)
                        copies += 1
                        start += consumed
                    case .needMore(let atLeast):
                        needed = atLeast
                        return false
                    default:
                        throw Reconstruction.Failure(description: "backlog: unreadable copy from \(master)")
                    }
                }
                return false
            }
            if done { break }
            // Make room: move the incomplete tail to the front, grow for a large copy.
            if start > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: end - start)
                }
                end -= start
                start = 0
            }
            if max(needed, end + 65536) > buffer.count { buffer += [UInt8](repeating: 0, count: max(needed, end + 65536) - buffer.count) }
            let n = buffer.withUnsafeMutableBytes { raw in Glibc.read(fd, raw.baseAddress! + end, raw.count - end) }
            guard n > 0 else {
                throw Reconstruction.Failure(description: "backlog: \(master) closed the connection or timed out")
            }
            end += n
        }
        store.versions.observe(highest)
        if highest > applied.caughtUp.load(ordering: .relaxed) { applied.caughtUp.store(highest, ordering: .relaxed) }
        return copies
    }

    /// One copy, with the slave's rules: only from the master it asked, applied with its version.
    private func apply(_ request: Request, from master: String) throws {
        let (sender, stamp) = ProxyPath.lastHop(request.proxyPath)
        guard stamp != nil, String(decoding: sender, as: UTF8.self) == master, request.version != 0,
              request.command == .set || request.command == .delete else {
            throw Reconstruction.Failure(description: "backlog: a copy not from \(master), or not a versioned set or delete")
        }
        let now = clock.now
        do {
            if request.command == .set {
                _ = try store.store(.set, key: request.key, flags: request.flags, expire: Expiry.absolute(request.exptime, now: now),
                                    value: request.value, version: request.version, now: now)
            } else {
                _ = try store.delete(request.key, version: request.version, now: now)
            }
        } catch {
            throw Reconstruction.Failure(description: "backlog: applying a copy failed: \(error)")
        }
    }
}
