import Foundation
import FlareIndex
import FlareNode

/// flared and flarei as fuzzing targets: the daemon started in this process, the command words the
/// grammar draws from, the words a reply line may start with, the peers an input may pose as, and
/// what keeps a long run's state bounded. Shared by the deterministic fuzzer (HandlerFuzzTests) and
/// the libFuzzer harness (OneInputHarness), so that both drive the same dispatch path.
public enum DaemonTargets {
    /// The regression corpus, `Tests/FuzzCorpus/handlers/{node,index}`.
    public static let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus/handlers")

    public static let scratch: String = {
        // tmpfs when there is one: flarei saves its map (with fsync) on every change the fuzzer makes.
        let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/flare-handler-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// The daemons keep running until the process ends; their files (pid files, flare.xml) go with this.
    public static func removeScratch() { try? FileManager.default.removeItem(atPath: scratch) }

    public static let nodeCommands = [
        "get", "gets", "set", "add", "replace", "append", "prepend", "cas", "delete", "incr", "decr", "touch", "gat", "gats",
        "flush_all", "stats", "stats threads", "stats nodes", "stats replication", "stats items", "version", "verbosity",
        "quit", "ping", "dump", "dump_key", "kill", "show variables", "keys", "backlog", "node", "node sync", "meta",
        "shutdown", "mg", "ms", "md", "ma", "mn", "me", "<127.0.0.1:1@1>set", "<127.0.0.1:1>get", "<127.0.0.9:12121@9>delete",
        "node sync 1\r\nNODE 127.0.0.9 12121 0 0 0 1 0\r\nEND\r\n",
        "node sync 2\r\nNODE 127.0.0.1 1 1 0 0 1 0\r\nNODE 127.0.0.9 12121 0 0 0 1 0\r\nEND\r\n",
        "node sync 3\r\nNODE 127.0.0.1 1 2 0 -1 0 0\r\nEND\r\n",
    ]

    public static let nodeReplyWords = ["VALUE ", "END", "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED", "OK",
                                        "ERROR", "CLIENT_ERROR ", "SERVER_ERROR", "VERSION ", "STAT ", "KEY ",
                                        // meta commands (docs/meta-commands.md)
                                        "MN", "HD", "VA ", "EN", "NF", "NS", "EX", "ME "]

    /// The made-up index server the node obeys pushes from; the fuzzer poses as it and as a stranger.
    public static let nodePeers = ["127.0.0.1:40000", "10.9.9.9:40001"]

    /// A dump pauses up to `wait` µs per item by design; the harness keeps waits small so that a
    /// long, legitimate dump is not reported as a hang (the range check itself is HostileInputTests').
    public static func boundDumpWaits(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        let word = Array("dump ".utf8)
        var i = 0
        while i + word.count <= bytes.count {
            guard bytes[i..<(i + word.count)].elementsEqual(word) else { i += 1; continue }
            var start = i + word.count
            while start < bytes.count && bytes[start] == 0x20 { start += 1 }
            var end = start
            while end < bytes.count && bytes[end] >= 0x30 && bytes[end] <= 0x39 { end += 1 }
            if end - start > 4 { bytes.replaceSubrange(start..<end, with: [0x31]) }
            i += word.count
        }
        return bytes
    }

    /// flared with memory storage and two workers, no index servers; pushes come from `nodePeers[1]`.
    public static func node() throws -> HandlerFuzzer.Target {
        let daemon = try InProcessDaemons.node(dataDir: scratch + "/node")
        let context = daemon.context!
        context.trustIndexServers(["10.9.9.9"])
        var target = HandlerFuzzer.Target(name: "flared", server: daemon.server, commands: nodeCommands,
                                          replyWords: nodeReplyWords, peers: nodePeers)
        target.invariant = {
            // A dump that has lost its client lets go of the store's iteration within moments.
            let deadline = Date().addingTimeInterval(2)
            while context.iterationInProgress && Date() < deadline { usleep(20) }
            return context.iterationInProgress ? "dump iteration still busy with no client" : nil
        }
        target.sanitize = boundDumpWaits
        target.housekeeping = { _ in try? context.store.flushAll() }
        return target
    }

    public static let indexCommands = [
        "ping", "version", "quit", "verbosity", "meta", "stats", "stats nodes", "stats threads", "stats threads queue",
        "lease 127.0.0.9", "show variables", "kill", "node", "node add 127.0.0.9", "node remove 127.0.0.9",
        "node role 127.0.0.9 1 master", "node role 127.0.0.9 1 slave", "node role 127.0.0.9", "node state 127.0.0.9 1",
        "node state 127.0.0.9 1 down", "node state 127.0.0.9 1 active", "shutdown 127.0.0.9", "node sync", "get", "set",
    ]

    public static let indexReplyWords = ["OK", "END", "ERROR", "VERSION ", "STAT ", "META ", "NODE ", "LEASE ", "CLIENT_ERROR ",
                                         "SERVER_ERROR "]

    /// flarei with its map on tmpfs; its monitors give up on a node after 100 ms.
    public static func index() throws -> HandlerFuzzer.Target {
        let daemon = try InProcessDaemons.index(dataDir: scratch + "/index")
        var target = HandlerFuzzer.Target(name: "flarei", server: daemon.server, commands: indexCommands,
                                          replyWords: indexReplyWords, peers: ["127.0.0.1:40002"])
        // Every node the fuzzer adds gets a monitor thread, as on a real index: take them all down
        // and out again so that a long run does not end up with thousands of threads.
        target.housekeeping = { send in
            let keys = Set(send("stats nodes\r\n").split(separator: "\r\n").compactMap { line -> String? in
                let words = line.split(separator: " ")
                guard words.count == 3, words[0] == "STAT", let end = words[1].lastIndex(of: ":") else { return nil }
                return String(words[1][..<end])
            })
            var requests = ""
            for key in keys {
                guard let colon = key.lastIndex(of: ":") else { continue }
                let (name, port) = (key[..<colon], key[key.index(after: colon)...])
                requests += "node state \(name) \(port) down\r\nnode remove \(name) \(port)\r\n"
            }
            if !requests.isEmpty { _ = send(requests) }
        }
        return target
    }
}
