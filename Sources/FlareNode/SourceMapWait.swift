#if canImport(Glibc)
import Glibc
#endif
import FlareNet

/// Before a copy starts, its source must already copy new writes to this node: otherwise a write
/// the source executes between the start of the dump (or backlog snapshot) and the moment its
/// workers learn of this node misses both. The source's `node_map_version` is the version every
/// one of its workers has installed, so once it reaches the map that made this node a copy of the
/// partition, every later write of the source is streamed here. Background threads only (blocks).
enum SourceMapWait {
    static let timeoutMilliseconds: Int64 = 5000

    /// Asks `stats` on `fd` until the source reports a node map at least `minimum`; nil when it
    /// does, else why not.
    static func wait(fd: Int32, source: String, minimum: UInt64) -> String? {
        let deadline = ServerClock.monotonicMilliseconds() + timeoutMilliseconds
        var seen: UInt64 = 0
        while true {
            guard LineClient.send(fd, "stats\r\n") else { return "cannot ask \(source) for its node map version" }
            var version: UInt64?
            while let line = LineClient.readLine(fd) {
                if line == "END" { break }
                if line.hasPrefix("STAT node_map_version ") { version = UInt64(line.dropFirst("STAT node_map_version ".count)) }
            }
            guard let version else { return "\(source) did not report its node map version" }
            seen = version
            if version >= minimum { return nil }
            guard ServerClock.monotonicMilliseconds() < deadline else { break }
            usleep(20_000)
        }
        return "\(source) still routes by node map \(seen) after \(timeoutMilliseconds) ms; this copy needs \(minimum)"
    }
}
