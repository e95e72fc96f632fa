import Foundation
import XCTest

/// flarei's open descriptors stay flat while nodes are attached: each node renews its lease five
/// times a second on one connection and checks its registration every 5 s on a fresh one, and the
/// index's monitors keep one connection per node; none of that may accumulate.
final class IndexConnectionCountTests: ClusterTestCase {
    private func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    func testIndexDescriptorsStaySteadyWithThreeNodesAttached() throws {
        // The shipped monitor interval (probes every second), so many rounds fit in the minute.
        cluster.monitorArguments = ["--monitor-interval", "1", "--monitor-threshold", "2", "--monitor-read-timeout", "500"]
        try startMasterAndSlave()
        let pid = cluster.index.pid
        // Settle: registration checks and leases have opened what they keep open.
        usleep(6_000_000)
        var samples: [Int] = []
        let end = now() + 60
        while now() < end {
            samples.append(openDescriptors(pid))
            // Operator traffic too: flare-stats and flare-admin connect and leave.
            if samples.count % 4 == 0 {
                XCTAssertEqual(try cluster.admin("list").status, 0)
                XCTAssertEqual(try cluster.tool("flare-stats", []).status, 0)
            }
            usleep(5_000_000)
        }
        samples.append(openDescriptors(pid))
        report("flarei open descriptors over 60 s with 3 nodes, one sample every 5 s: \(samples)")
        let threads = (try? cluster.indexClient().call("stats threads").count) ?? -1
        report("flarei stats threads lines at the end: \(threads)")
        XCTAssertLessThanOrEqual(samples.max()! - samples.min()!, 4, "flarei's descriptors grew: \(samples)")
        XCTAssertLessThanOrEqual(samples.last!, samples.first! + 2, "flarei's descriptors grew: \(samples)")
    }
}
