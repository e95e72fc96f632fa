#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// memcached's binary protocol through a cluster: a client of a proxy node reaches keys its
/// partition's master owns, and the writes reach the slave through the ordered replication stream.
final class BinaryProtocolClusterTests: ClusterTestCase {
    private func packet(_ opcode: UInt8, key: String = "", extras: [UInt8] = [], value: [UInt8] = [],
                        opaque: UInt32 = 0, cas: UInt64 = 0) -> [UInt8] {
        let key = Array(key.utf8)
        var bytes: [UInt8] = [0x80, opcode, UInt8(key.count >> 8), UInt8(key.count & 0xFF), UInt8(extras.count), 0, 0, 0]
        bytes += be(UInt32(extras.count + key.count + value.count)) + be(opaque) + be(cas)
        return bytes + extras + key + value
    }

    private func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    private struct Response {
        var opcode: UInt8
        var status: UInt16
        var opaque: UInt32
        var cas: UInt64
        var extras: [UInt8]
        var key: String
        var value: [UInt8]
    }

    private func read(_ client: TestClient) throws -> Response {
        let h = try client.readBytes(24, "a binary response header")
        XCTAssertEqual(h[0], 0x81, "response magic")
        let keyLength = Int(h[2]) << 8 | Int(h[3]), extrasLength = Int(h[4])
        let body = try client.readBytes(Int(h[8]) << 24 | Int(h[9]) << 16 | Int(h[10]) << 8 | Int(h[11]), "a binary response body")
        return Response(opcode: h[1], status: UInt16(h[6]) << 8 | UInt16(h[7]),
                        opaque: UInt32(h[12]) << 24 | UInt32(h[13]) << 16 | UInt32(h[14]) << 8 | UInt32(h[15]),
                        cas: h[16..<24].reduce(UInt64(0)) { $0 << 8 | UInt64($1) },
                        extras: Array(body[..<extrasLength]),
                        key: String(decoding: body[extrasLength..<(extrasLength + keyLength)], as: UTF8.self),
                        value: Array(body[(extrasLength + keyLength)...]))
    }

    /// pylibmc (binary mode) runs its workload through proxy node 3, then raw binary requests check
    /// what the library does not show: cas, pipelined quiet gets in order, counters created with an
    /// initial value, and that every write reached the master and its slave. The master replicates
    /// synchronously, so its binary replies wait for the slave's confirmation.
    func testBinaryClientThroughAProxyNode() throws {
        try startMasterAndSlave(nodeArguments: [1: ["--replication-type", "sync"]])
        let proxy = cluster.node(3)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/pylibmc-binary-workload.py").path
        let run = try runPython([script, proxy.host, String(proxy.port), "--prefix", "px:", "--cluster"])
        XCTAssertEqual(run.status, 0, "pylibmc through the proxy:\n\(run)")

        let client = try TestClient(host: proxy.host, port: proxy.port)
        defer { client.close() }
        // A set through the proxy is the master's item: the cas a get returns is its version.
        try client.send(packet(0x01, key: "bx:a", extras: be(UInt32(3)) + be(UInt32(0)), value: Array("one".utf8), opaque: 1))
        let stored = try read(client)
        XCTAssertEqual(stored.status, 0)
        XCTAssertEqual(stored.opaque, 1)
        try client.send(packet(0x00, key: "bx:a", opaque: 2))
        let got = try read(client)
        XCTAssertEqual(got.value, Array("one".utf8))
        XCTAssertEqual(got.extras, be(UInt32(3)))
        let master = try cluster.client(1)
        XCTAssertEqual(try master.get(["bx:a"], command: "gets")["bx:a"]?.cas, got.cas)
        XCTAssertEqual(stored.cas, got.cas, "the set's cas, from the owner")
        // cas through the proxy: the current one stores, a stale one is refused.
        try client.send(packet(0x01, key: "bx:a", extras: be(UInt32(0)) + be(UInt32(0)), value: Array("two".utf8), cas: got.cas))
        let casStored = try read(client)
        XCTAssertEqual(casStored.status, 0)
        XCTAssertGreaterThan(casStored.cas, got.cas)
        try client.send(packet(0x01, key: "bx:a", extras: be(UInt32(0)) + be(UInt32(0)), value: Array("three".utf8), cas: got.cas))
        XCTAssertEqual(try read(client).status, 2, "a stale cas is refused by the owner")
        // incr of a missing counter with an initial value creates it on the master.
        let incr = be(UInt64(1)) + be(UInt64(40)) + be(UInt32(0))
        try client.send(packet(0x05, key: "bx:n", extras: incr) + packet(0x05, key: "bx:n", extras: incr))
        XCTAssertEqual(try read(client).value, be(UInt64(40)))
        let second = try read(client)
        XCTAssertEqual(second.value, be(UInt64(41)))
        XCTAssertEqual(try master.get(["bx:n"], command: "gets")["bx:n"]?.cas, second.cas, "incr's cas, from the owner")
        // Pipelined quiet gets of hits and misses, ended by a noop: hits only, in request order.
        var pipeline: [UInt8] = []
        for (i, key) in ["bx:a", "bx:missing1", "px:a", "bx:n", "bx:missing2", "px:obj"].enumerated() {
            pipeline += packet(0x0D, key: key, opaque: UInt32(i))
        }
        try client.send(pipeline + packet(0x0A, opaque: 99))
        var replies: [Response] = []
        repeat { replies.append(try read(client)) } while replies.last?.opcode != 0x0A
        XCTAssertEqual(replies.map(\.key), ["bx:a", "px:a", "bx:n", "px:obj", ""])
        XCTAssertEqual(replies.map(\.opaque), [0, 2, 3, 5, 99])
        XCTAssertEqual(replies[0].value, Array("two".utf8))
        XCTAssertEqual(replies[1].value, Array("alpha2".utf8), "written by pylibmc's cas through the proxy")
        // A key the text protocol cannot carry is refused rather than forwarded.
        try client.send(packet(0x00, key: "bx:with space", opaque: 7))
        let refused = try read(client)
        XCTAssertEqual(refused.status, 4)
        XCTAssertEqual(refused.opaque, 7)

        // Pipelined writes straight to the master: each reply is held until the slave confirms,
        // and they still leave in request order.
        let direct = try TestClient(host: cluster.node(1).host, port: cluster.node(1).port)
        defer { direct.close() }
        let e = be(UInt32(0)) + be(UInt32(0))
        try direct.send(packet(0x11, key: "bm:1", extras: e, value: [0x31], opaque: 1)
                        + packet(0x01, key: "bm:2", extras: e, value: [0x32], opaque: 2)
                        + packet(0x09, key: "bm:1", opaque: 3) + packet(0x04, key: "bm:2", opaque: 4)
                        + packet(0x14, key: "bm:2", opaque: 5) + packet(0x1C, key: "bm:1", extras: be(UInt32(1000)), opaque: 7)
                        + packet(0x1D, key: "bm:1", extras: be(UInt32(2000)), opaque: 8) + packet(0x0A, opaque: 6))
        var directReplies: [Response] = []
        repeat { directReplies.append(try read(direct)) } while directReplies.last?.opcode != 0x0A
        XCTAssertEqual(directReplies.map(\.opaque), [2, 3, 4, 5, 7, 8, 6])
        XCTAssertEqual(directReplies.map(\.status), [0, 0, 0, 1, 0, 0, 0],
                       "set, getq hit, delete, deleteq of the deleted key, touch, gat, noop")
        XCTAssertEqual(directReplies[5].value, [0x31])
        XCTAssertEqual(directReplies[1].value, [0x31])

        // Every write reached the master, and its slave holds the same versions.
        let onMaster = try master.dump()
        for key in ["bx:a", "bx:n", "px:a", "px:n", "px:obj", "px:blob", "px:m20", "bm:1"] {
            XCTAssertNotNil(onMaster[key], "\(key) on the master")
        }
        XCTAssertNil(onMaster["px:b"], "deleted through the proxy")
        XCTAssertTrue(waitUntil(timeout: 10) {
            guard let onSlave = try? cluster.client(2).dump() else { return false }
            return onSlave.mapValues(\.version) == onMaster.mapValues(\.version)
        }, "the slave holds the master's items and versions: \(differences(onMaster, (try? cluster.client(2).dump()) ?? [:]))")
    }

    private func differences(_ master: [String: DumpedItem], _ slave: [String: DumpedItem]) -> [String] {
        Set(master.keys).union(slave.keys).sorted().compactMap { key in
            master[key] == slave[key] ? nil : "\(key): master \(master[key].map(String.init(describing:)) ?? "none"), slave \(slave[key].map(String.init(describing:)) ?? "none")"
        }
    }

    private func runPython(_ arguments: [String], timeout: Int = 60) throws -> ToolRun {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw ClientError.timeout("/usr/bin/python3 is missing; run scripts/install-deps")
        }
        let out = cluster.root.appendingPathComponent("python-\(UUID().uuidString).out").path
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: out + ".err", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", String(timeout), "/usr/bin/python3"] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: out + ".err")
        process.standardInput = FileHandle.nullDevice
        let started = Date()
        try process.run()
        process.waitUntilExit()
        return ToolRun(status: process.terminationStatus,
                       output: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                       errors: (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "",
                       seconds: Date().timeIntervalSince(started))
    }
}
