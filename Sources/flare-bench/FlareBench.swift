import ArgumentParser
import Glibc

@main
struct FlareBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flare-bench",
        abstract: "Closed-loop load generator for memcached text-protocol servers (flared, memcached).",
        discussion: """
            Each connection sends a batch of --pipeline requests in one write, waits for all \
            replies, then sends the next batch. Latency is measured per request from its batch's \
            send time. Only replies completing after the warm-up are counted. Progress goes to \
            stderr; the result (table or --json) to stdout.
            """)

    @Option(help: "Server host name or address.")
    var host = "127.0.0.1"
    @Option(help: "Server TCP port.")
    var port = 12121
    @Option(help: "Client threads, each driving its share of the connections with epoll.")
    var threads = 2
    @Option(help: "Concurrent connections.")
    var connections = 50
    @Option(help: "Requests in flight per connection, written in one write (1 = no pipelining).")
    var pipeline = 1
    @Option(help: "get:set mix, e.g. 90:10.")
    var ratio = "90:10"
    @Option(help: "Key space: keys are <key-prefix>0 ... <key-prefix>(keys-1), chosen uniformly.")
    var keys = 10000
    @Option(help: "Key prefix.")
    var keyPrefix = "key:"
    @Option(help: "Value size in bytes for sets.")
    var valueSize = 32
    @Option(help: "Measured seconds (after the warm-up).")
    var duration: Double = 10
    @Option(help: "Warm-up seconds (load runs but is not counted).")
    var warmup: Double = 1
    @Option(help: "Keys per get request.")
    var multiget = 1
    @Flag(inversion: .prefixedNo, help: "Set every key once before measuring.")
    var preload = true
    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    /// Parsed --ratio.
    private var weights: (get: Int, set: Int) {
        let parts = ratio.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let g = Int(parts[0]), let s = Int(parts[1]) else { return (-1, -1) }
        return (g, s)
    }

    func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw ValidationError(message) }
        }
        try check((1...65535).contains(port), "--port must be in 1...65535")
        try check((1...256).contains(threads), "--threads must be in 1...256")
        try check((1...100_000).contains(connections), "--connections must be in 1...100000")
        try check((1...4096).contains(pipeline), "--pipeline must be in 1...4096")
        let w = weights
        try check(w.get >= 0 && w.set >= 0 && w.get + w.set > 0 && w.get + w.set <= 1_000_000,
                  "--ratio must be <get>:<set> with non-negative integers, not both 0 (e.g. 90:10), got '\(ratio)'")
        try check((1...Int(UInt32.max)).contains(keys), "--keys must be in 1...\(UInt32.max)")
        try check(keyPrefix.utf8.count <= 200 && keyPrefix.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F },
                  "--key-prefix must be at most 200 printable ASCII characters without spaces")
        try check((0...1_048_576).contains(valueSize), "--value-size must be in 0...1048576")
        try check(duration.isFinite && duration > 0 && duration <= 86400, "--duration must be > 0 seconds")
        try check(warmup.isFinite && warmup >= 0 && warmup <= 86400, "--warmup must be >= 0 seconds")
        try check((1...100).contains(multiget), "--multiget must be in 1...100")
    }

    /// Like ParsableCommand.main, but argument errors are a single line on stderr.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }   // --help
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            note("flare-bench: \(text) (see --help)")
            Glibc.exit(64)
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let address: ServerAddress
        do { address = try ServerAddress(host: host, port: port) } catch { die(error.description) }

        let templates = RequestTemplates(keyPrefix: keyPrefix, valueSize: valueSize, multiget: multiget)
        let preloadDepth = max(pipeline, 32)
        let shape = LoadShape(pipeline: pipeline, getWeight: weights.get,
                              totalWeight: weights.get + weights.set, keys: keys,
                              multiget: multiget, preloadDepth: preloadDepth)
        let writeCapacity = max(pipeline * max(templates.maxGetLength, templates.maxSetLength),
                                preloadDepth * templates.maxSetLength)

        var conns: [Connection] = []
        conns.reserveCapacity(connections)
        for i in 0..<connections {
            let fd: Int32
            do { fd = try address.connectNonBlocking() } catch { die(error.description) }
            let c = Connection(fd: fd, number: i, writeCapacity: writeCapacity, maxBatch: preloadDepth)
            c.preloadNext = i * keys / connections
            c.preloadEnd = (i + 1) * keys / connections
            conns.append(c)
        }
        let threadCount = min(threads, connections)
        let workers = (0..<threadCount).map { t in
            Worker(shape: shape, templates: templates,
                   connections: Array(conns[(t * connections / threadCount)..<((t + 1) * connections / threadCount)]))
        }
        conns = []

        if preload {
            let t0 = nowNanos()
            onThreads(workers) { $0.preload() }
            if !json { note("preloaded \(keys) keys in \(fixed(Double(nowNanos() - t0) / 1e9, 2)) s") }
        }
        if !json {
            note("running \(fixed(warmup, 1)) s warm-up + \(fixed(duration, 1)) s against \(address.display)")
        }
        let start = nowNanos()
        let warmupEnd = start + UInt64(warmup * 1e9)
        let measureEnd = warmupEnd + UInt64(duration * 1e9)
        onThreads(workers) { $0.run(warmupEnd: warmupEnd, measureEnd: measureEnd) }

        var counters = Counters()
        let histogram = Histogram()
        for w in workers {
            counters.add(w.counters)
            histogram.merge(w.histogram)
        }
        let result = Result(counters: counters, histogram: histogram, seconds: duration)
        print(json ? jsonReport(result, address: address, threads: threadCount)
                   : tableReport(result, address: address, threads: threadCount))
    }

    struct Result {
        let counters: Counters
        let histogram: Histogram
        let seconds: Double

        var ops: UInt64 { counters.gets + counters.sets }
        var opsPerSec: Double { Double(ops) / seconds }
        var getsPerSec: Double { Double(counters.gets) / seconds }
        var setsPerSec: Double { Double(counters.sets) / seconds }
        var hitRatio: Double { counters.getKeys == 0 ? 0 : Double(counters.hits) / Double(counters.getKeys) }
        func micros(_ q: Double) -> Double { Double(histogram.percentile(q)) / 1000 }
        var maxMicros: Double { Double(histogram.max) / 1000 }
        var meanMicros: Double { histogram.mean / 1000 }
    }

    private func tableReport(_ r: Result, address: ServerAddress, threads: Int) -> String {
        let c = r.counters
        return """
            target      \(address.display)
            load        \(connections) connections on \(threads) threads, pipeline \(pipeline), get:set \(ratio), \
            multiget \(multiget), \(keys) keys, \(valueSize)-byte values
            measured    \(fixed(duration, 2)) s after \(fixed(warmup, 2)) s warm-up
            ops/s       \(fixed(r.opsPerSec, 0))
            gets/s      \(fixed(r.getsPerSec, 0))
            sets/s      \(fixed(r.setsPerSec, 0))
            hit ratio   \(fixed(r.hitRatio * 100, 2)) %
            latency µs  p50 \(fixed(r.micros(0.5), 1))  p99 \(fixed(r.micros(0.99), 1))  \
            p99.9 \(fixed(r.micros(0.999), 1))  max \(fixed(r.maxMicros, 1))  (mean \(fixed(r.meanMicros, 1)))
            errors      \(c.errorTotal)  (SERVER_ERROR \(c.serverErrors), CLIENT_ERROR \(c.clientErrors), \
            ERROR \(c.errors), unexpected \(c.unexpected))
            """
    }

    private func jsonReport(_ r: Result, address: ServerAddress, threads: Int) -> String {
        let c = r.counters
        func str(_ s: String) -> String {
            "\"" + s.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\""
        }
        return "{" + [
            "\"host\":\(str(host))", "\"port\":\(port)", "\"threads\":\(threads)",
            "\"connections\":\(connections)", "\"pipeline\":\(pipeline)", "\"ratio\":\(str(ratio))",
            "\"keys\":\(keys)", "\"key_prefix\":\(str(keyPrefix))", "\"value_size\":\(valueSize)",
            "\"multiget\":\(multiget)", "\"duration_s\":\(fixed(duration, 3))", "\"warmup_s\":\(fixed(warmup, 3))",
            "\"ops\":\(r.ops)", "\"ops_per_sec\":\(fixed(r.opsPerSec, 1))",
            "\"gets_per_sec\":\(fixed(r.getsPerSec, 1))", "\"sets_per_sec\":\(fixed(r.setsPerSec, 1))",
            "\"hit_ratio\":\(fixed(r.hitRatio, 4))",
            "\"latency_us\":{\"p50\":\(fixed(r.micros(0.5), 1)),\"p99\":\(fixed(r.micros(0.99), 1)),"
                + "\"p99_9\":\(fixed(r.micros(0.999), 1)),\"max\":\(fixed(r.maxMicros, 1)),"
                + "\"mean\":\(fixed(r.meanMicros, 1))}",
            "\"errors\":{\"total\":\(c.errorTotal),\"server_error\":\(c.serverErrors),"
                + "\"client_error\":\(c.clientErrors),\"error\":\(c.errors),\"unexpected\":\(c.unexpected)}",
        ].joined(separator: ",") + "}"
    }
}

/// `x` with exactly `digits` decimals (no Foundation).
func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    guard scaled < 9e18 else { return String(x) }
    let n = UInt64(scaled)
    let sign = x < 0 && n > 0 ? "-" : ""
    if digits == 0 { return sign + String(n) }
    let whole = n / UInt64(scale)
    var frac = String(n % UInt64(scale))
    while frac.count < digits { frac = "0" + frac }
    return "\(sign)\(whole).\(frac)"
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
