import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A peer whose host name takes seconds to resolve must not stall the other clients of the worker
/// that forwards to it: name resolution runs off the event loops (HostResolver).
///
/// The node runs in a network namespace whose resolv.conf (`ip netns exec` mounts
/// /etc/netns/<name>/resolv.conf) names a DNS server on the host end of the veth pair that never
/// answers; the partition's master is a node named `slow-peer.flare-test`, so every request the
/// node forwards needs that name resolved.
final class SlowResolverTests: ClusterTestCase {
    private var namespace: NetworkNamespace?
    private var silentDNS: Int32 = -1

    override func tearDown() {
        cluster?.shutdown(keepFiles: true)
        if let namespace {
            try? FileManager.default.removeItem(atPath: "/etc/netns/\(namespace.name)")
            namespace.remove()
        }
        namespace = nil
        if silentDNS >= 0 { close(silentDNS) }
        super.tearDown()
    }

    func testClientsOfAWorkerAreNotHeldUpBySlowNameResolution() throws {
        guard geteuid() == 0 else { return XCTFail("this test creates a network namespace: run it as root") }
        let space = try NetworkNamespace.create()
        namespace = space
        // A DNS server that reads every query and answers none (UDP, where the resolver asks first).
        silentDNS = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(53).bigEndian)
        inet_pton(AF_INET, space.hostAddress, &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silentDNS, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(bound, 0, "bind the silent DNS server to \(space.hostAddress):53: \(String(cString: strerror(errno)))")
        try FileManager.default.createDirectory(atPath: "/etc/netns/\(space.name)", withIntermediateDirectories: true)
        try "nameserver \(space.hostAddress)\noptions timeout:4 attempts:1\n"
            .write(toFile: "/etc/netns/\(space.name)/resolv.conf", atomically: true, encoding: .utf8)

        // flarei in the namespace too, so its monitor also waits for the silent DNS server: the
        // unresolvable node stays up in the map (three failed probes of 4 s each) for the test's 3 s.
        let inside = [NetworkNamespace.ip, "netns", "exec", space.name]
        cluster.indexHost = space.innerAddress
        cluster.indexWrapper = inside
        cluster.monitorArguments = ["--monitor-interval", "30", "--monitor-threshold", "3", "--monitor-read-timeout", "500"]
        cluster.nodeHosts = [1: space.innerAddress]
        cluster.nodeWrappers = [1: inside]
        try cluster.startIndex()
        try cluster.startNodes([1])
        let slowPeer = "slow-peer.flare-test"
        XCTAssertTrue(try cluster.indexClient().call("node add \(slowPeer) 12121").last == "END")
        XCTAssertEqual(try cluster.indexCommand("node role \(slowPeer) 12121 master 1 0"), "OK")
        XCTAssertTrue(waitUntil(timeout: 10) {
            (try? self.cluster.nodeStatsNodes(1)["\(slowPeer):12121"])?.role == "master"
        }, cluster.mapsReport())

        // Four connections over the node's two workers: the first forwards (and waits for the name),
        // the others only ask the node itself, so at least one shares the waiting worker.
        let forwarding = try cluster.client(1, timeout: 15)
        let others = try (0..<3).map { _ in try cluster.client(1, timeout: 15) }
        let sentAt = now()
        try forwarding.send("get k\r\n")
        var slowest = 0.0
        while now() - sentAt < 2.5 {
            for client in others {
                let start = now()
                XCTAssertTrue(try client.line("version").hasPrefix("VERSION"))
                slowest = max(slowest, now() - start)
            }
            usleep(20_000)
        }
        report(String(format: "slowest version reply while a forwarded request waited for DNS: %.1f ms", slowest * 1000))
        XCTAssertLessThan(slowest, 0.5, "a worker waited for name resolution")
        // The forwarded read itself ends as a miss (flare answers a failed proxied read with END)
        // once the lookup has taken longer than the connect timeout.
        let reply = try forwarding.readLine("the forwarded get")
        XCTAssertEqual(reply, "END")
        XCTAssertTrue(cluster.node(1).daemon.log().contains("cannot resolve \(slowPeer)"), cluster.node(1).daemon.logTail())
        report(String(format: "the forwarded request failed after %.1f s: %@", now() - sentAt, reply))
    }
}
