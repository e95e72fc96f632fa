import Foundation
import XCTest
@testable import FlareIndex
@testable import FlareNode

/// The handler fuzzer (HandlerFuzzer) against flared's and flarei's real command handlers, in this
/// process. A short run here; `scripts/fuzz-handlers <inputs>` runs the same with many more
/// (`FLARE_FUZZ_INPUTS`, `FLARE_FUZZ_SEED`).
final class HandlerFuzzTests: XCTestCase {
    static let environment = ProcessInfo.processInfo.environment
    static let seed = UInt64(environment["FLARE_FUZZ_SEED"] ?? "") ?? 20_261_205
    static let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus/handlers")

    static func inputs(default value: Int) -> Int { Int(environment["FLARE_FUZZ_INPUTS"] ?? "") ?? value }

    static let scratch: String = {
        // tmpfs when there is one: flarei saves its map (with fsync) on every change the fuzzer makes.
        let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/flare-handler-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// The daemons keep running until the process ends; their files (pid files, flare.xml) go now.
    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: scratch)
        super.tearDown()
    }

    static let nodeCommands = [
        "get", "gets", "set", "add", "replace", "append", "prepend", "cas", "delete", "incr", "decr", "touch", "gat", "gats",
        "flush_all", "stats", "stats threads", "stats nodes", "stats replication", "stats items", "version", "verbosity",
        "quit", "ping", "dump", "dump_key", "kill", "show variables", "keys", "backlog", "node", "node sync", "meta",
        "shutdown", "<127.0.0.1:1@1>set", "<127.0.0.1:1>get", "<127.0.0.9:12121@9>delete",
        "node sync 1\r\nNODE 127.0.0.9 12121 0 0 0 1 0\r\nEND\r\n",
        "node sync 2\r\nNODE 127.0.0.1 1 1 0 0 1 0\r\nNODE 127.0.0.9 12121 0 0 0 1 0\r\nEND\r\n",
        "node sync 3\r\nNODE 127.0.0.1 1 2 0 -1 0 0\r\nEND\r\n",
    ]

    /// A dump pauses up to `wait` µs per item by design; the harness keeps waits small so that a
    /// long, legitimate dump is not reported as a hang (the range check itself is HostileInputTests').
    static func boundDumpWaits(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        let word = Array("dump ".utf8)
        var i = 0
        while i + word.count <= bytes.count {
            guard Array(bytes[i..<(i + word.count)]) == word else { i += 1; continue }
            var start = i + word.count
            while start < bytes.count && bytes[start] == 0x20 { start += 1 }
            var end = start
            while end < bytes.count && bytes[end] >= 0x30 && bytes[end] <= 0x39 { end += 1 }
            if end - start > 4 { bytes.replaceSubrange(start..<end, with: [0x31]) }
            i += word.count
        }
        return bytes
    }

    func testNodeHandlers() throws {
        let daemon = try InProcessDaemons.node(dataDir: Self.scratch + "/node")
        let context = daemon.context!
        // Pushes are obeyed from this made-up index address only; the fuzzer poses as it and as a stranger.
        context.membership.indexPeers.set(["10.9.9.9"])
        var target = HandlerFuzzer.Target(
            name: "flared", server: daemon.server, commands: Self.nodeCommands,
            replyWords: ["VALUE ", "END", "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED", "OK", "ERROR",
                         "CLIENT_ERROR ", "SERVER_ERROR", "VERSION ", "STAT ", "KEY "],
            peers: ["127.0.0.1:40000", "10.9.9.9:40001"])
        target.invariant = { context.iterationBusy.load(ordering: .acquiring) ? "dump iteration still busy with no client" : nil }
        target.sanitize = Self.boundDumpWaits
        target.housekeeping = { _ in try? context.store.flushAll() }
        var fuzzer = HandlerFuzzer(target: target, seed: Self.seed, corpus: HandlerFuzzer.corpus(at: Self.corpusRoot.appendingPathComponent("node")))
        do {
            let summary = try fuzzer.run(inputs: Self.inputs(default: 4000))
            print("[HandlerFuzzTests] flared, seed \(Self.seed): \(summary)")
        } catch let finding as HandlerFuzzer.Finding {
            XCTFail("\(finding)")
        }
    }

    static let indexCommands = [
        "ping", "version", "quit", "verbosity", "meta", "stats", "stats nodes", "stats threads", "stats threads queue",
        "lease 127.0.0.9", "show variables", "kill", "node", "node add 127.0.0.9", "node remove 127.0.0.9",
        "node role 127.0.0.9 1 master", "node role 127.0.0.9 1 slave", "node role 127.0.0.9", "node state 127.0.0.9 1",
        "node state 127.0.0.9 1 down", "node state 127.0.0.9 1 active", "shutdown 127.0.0.9", "node sync", "get", "set",
    ]

    func testIndexHandlers() throws {
        let daemon = try InProcessDaemons.index(dataDir: Self.scratch + "/index")
        var target = HandlerFuzzer.Target(
            name: "flarei", server: daemon.server, commands: Self.indexCommands,
            replyWords: ["OK", "END", "ERROR", "VERSION ", "STAT ", "META ", "NODE ", "LEASE ", "CLIENT_ERROR ", "SERVER_ERROR "],
            peers: ["127.0.0.1:40002"])
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
        var fuzzer = HandlerFuzzer(target: target, seed: Self.seed, corpus: HandlerFuzzer.corpus(at: Self.corpusRoot.appendingPathComponent("index")))
        do {
            let summary = try fuzzer.run(inputs: Self.inputs(default: 1500))
            print("[HandlerFuzzTests] flarei, seed \(Self.seed): \(summary)")
        } catch let finding as HandlerFuzzer.Finding {
            XCTFail("\(finding)")
        }
    }
}
