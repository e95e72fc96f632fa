@testable import FlareTools
import XCTest

final class FormatTests: XCTestCase {
    private func node(_ key: String, _ role: String, _ state: String, _ partition: Int, _ balance: Int, _ threadType: Int = 16) -> NodeStat {
        let parts = key.split(separator: ":").map(String.init)
        return NodeStat(host: parts[0], port: parts[1], fields: ["role": role, "state": state, "partition": String(partition),
                                                                 "balance": String(balance), "thread_type": String(threadType)])
    }

    func testNodeListUsesTheOriginalColumnsAndDashForNoPartition() {
        let text = NodeListFormat.render([node("127.0.0.2:12122", "master", "active", 0, 1), node("127.0.0.1:12121", "proxy", "active", -1, 0)])
        XCTAssertEqual(text, """
            node                             partition   role  state balance
            127.0.0.2:12122                          0 master active       1
            127.0.0.1:12121                          -  proxy active       0

            """)
    }

    func testNodeListRestrictedToGivenKeysKeepsIndexOrder() {
        let map = NodeStatMap(nodes: [node("a:1", "proxy", "active", -1, 0), node("b:2", "master", "active", 0, 1), node("c:3", "slave", "prepare", 0, 0)])
        let lines = NodeListFormat.render(map, only: ["c:3", "a:1"]).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[1].hasPrefix("a:1 "))
        XCTAssertTrue(lines[2].hasPrefix("c:3 "))
        XCTAssertEqual(NodeListFormat.render(map, only: []).split(separator: "\n").count, 4)
    }

    func testStatsTableMatchesPrettyTableLayout() {
        let master = ServerStats(values: ["curr_items": "20", "curr_connections": "2", "cmd_get": "38", "get_hits": "23",
                                          "bytes": "529984", "uptime": "111", "version": "1.3.4"])
        let slave = ServerStats(values: ["curr_items": "20", "curr_connections": "3", "cmd_get": "0", "get_hits": "0",
                                         "bytes": "0", "uptime": "90000", "version": "1.3.4"])
        let rows = [
            StatsTable.row(node: node("127.0.0.5:12125", "proxy", "active", -1, 0), sample: NodeSample(stats: nil, time: 0), behind: "-", qps: nil),
            StatsTable.row(node: node("127.0.0.2:12122", "master", "active", 0, 1), sample: NodeSample(stats: master, time: 0), behind: "0", qps: nil),
            StatsTable.row(node: node("127.0.0.1:12121", "slave", "active", 0, 1), sample: NodeSample(stats: slave, time: 0), behind: "5", qps: nil),
        ]
        XCTAssertEqual(StatsTable.render(rows: rows, withQps: false, delimiter: " "), [
            "hostname:port   state  role   partition balance items conn behind hit size uptime version",
            "127.0.0.5:12125 active proxy         -1       0                 -                        ",
            "127.0.0.2:12122 active master         0       1    20    2      0  61    0     1m   1.3.4",
            "127.0.0.1:12121 active slave          0       1    20    3      5   -    -     1d   1.3.4",
        ].joined(separator: "\n"))
    }

    func testStatsTableDelimiterAndQpsColumns() {
        let stats = ServerStats(values: ["curr_items": "1", "curr_connections": "1", "cmd_get": "0", "bytes": "0", "uptime": "5",
                                         "version": "1.3.4"])
        let row = StatsTable.row(node: node("h:1", "master", "active", 0, 1), sample: NodeSample(stats: stats, time: 0), behind: "0",
                                 qps: ["-", "-", "-"])
        XCTAssertEqual(StatsTable.render(rows: [row], withQps: true, delimiter: ","), """
            hostname:port,state ,role  ,partition,balance,items,conn,behind,hit,size,uptime,version,qps,qps-r,qps-w
            h:1          ,active,master,        0,      1,    1,   1,     0,  -,   -,    5s,  1.3.4,  -,    -,    -
            """)
    }

    func testQpsTrackerGivesDashesFirstThenRatesWithOneDecimal() {
        var tracker = QpsTracker()
        let first = NodeSample(stats: ServerStats(values: ["cmd_get": "100", "cmd_set": "50"]), time: 10)
        let second = NodeSample(stats: ServerStats(values: ["cmd_get": "130", "cmd_set": "50"]), time: 14)
        XCTAssertEqual(tracker.rates(for: "n", sample: first), ["-", "-", "-"])
        XCTAssertEqual(tracker.rates(for: "n", sample: second), ["7.5", "7.5", "0.0"])
        XCTAssertEqual(tracker.rates(for: "n", sample: NodeSample(stats: nil, time: 20)), ["-", "-", "-"])
    }

    func testShortDuration() {
        XCTAssertEqual([0, 30, 59, 60, 3599, 3600, 86399, 86400, 1_000_000].map { StatFigures.shortDuration(seconds: $0) },
                       ["0s", "30s", "59s", "1m", "59m", "1h", "23h", "1d", "11d"])
    }

    func testHitRateSizeAndDecimals() {
        XCTAssertEqual(StatFigures.hitRate(getHits: "23", commandGets: "38"), "61")
        XCTAssertEqual(StatFigures.hitRate(getHits: "1", commandGets: "8"), "13")
        XCTAssertEqual(StatFigures.hitRate(getHits: "0", commandGets: "0"), "-")
        XCTAssertEqual(StatFigures.hitRate(getHits: nil, commandGets: nil), "-")
        XCTAssertEqual(StatFigures.sizeInGiB(bytes: "0"), "-")
        XCTAssertEqual(StatFigures.sizeInGiB(bytes: "1073741823"), "0")
        XCTAssertEqual(StatFigures.sizeInGiB(bytes: "3221225472"), "3")
        XCTAssertEqual(StatFigures.oneDecimal(0.35), "0.3")
        XCTAssertEqual(StatFigures.oneDecimal(12.25), "12.2")
        XCTAssertEqual(StatFigures.oneDecimal(0), "0.0")
    }

    func testSlaveProgressLineWithAndWithoutEstimate() {
        XCTAssertEqual(ConstructionProgress.slaveLine(slaveItems: 0, masterItems: 100001, role: "slave", state: "prepare", elapsed: 0),
                       "0/100001 (role = slave, state = prepare) [ETA: n/a sec (elapsed = 0 sec)]")
        XCTAssertEqual(ConstructionProgress.slaveLine(slaveItems: 25000, masterItems: 100001, role: "slave", state: "prepare", elapsed: 5.9),
                       "25000/100001 (role = slave, state = prepare) [ETA: 17 sec (elapsed = 5 sec)]")
        XCTAssertEqual(ConstructionProgress.slaveLine(slaveItems: 100001, masterItems: 100001, role: "slave", state: "active", elapsed: 20),
                       "100001/100001 (role = slave, state = active) [ETA: 0 sec (elapsed = 20 sec)]")
    }

    func testMasterProgressLine() {
        XCTAssertEqual(ConstructionProgress.masterLine(masterItems: 512, role: "master", state: "prepare", elapsed: 3.2),
                       "512 (role = master, state = prepare) [ETA: n/a sec (elapsed = 3 sec)]")
    }

    func testSummaryLayout() {
        var summary = ClusterSummary(name: "127.0.0.1:12120")
        summary.partitions = 2; summary.nodes = 4; summary.masters = 2; summary.slaves = 2; summary.bytes = 1059968; summary.items = 40
        XCTAssertEqual(SummaryFormat.render(summary), """
            #cluster                        part  node master slave            size        items
            127.0.0.1:12120                    2     4      2     2         1059968           40

            """)
        summary.name = String(repeating: "x", count: 40)
        XCTAssertTrue(SummaryFormat.render(summary).split(separator: "\n")[1].hasPrefix(String(repeating: "x", count: 30) + "     2"))
    }

    func testThreadsSortedByPeerBytewiseWithDashForIdleOperation() throws {
        let table = try ThreadTable(payload: ["STAT 14:type 1", "STAT 14:peer 127.0.0.1:32940", "STAT 14:op stats", "STAT 14:queue 0",
                                              "STAT 1:type 4", "STAT 1:peer :0", "STAT 1:op ", "STAT 1:queue 0"])
        XCTAssertEqual(ThreadsFormat.render(table), """
               id peer                             operation     type    queue
               14 127.0.0.1:32940                  stats            1        0
                1 :0                               -                4        0

            """)
    }

    func testIndexDocument() {
        let map = NodeStatMap(nodes: [node("10.0.0.3:12121", "master", "active", 1, 1, 19), node("10.0.0.4:12121", "slave", "prepare", 1, 0, 20)])
        XCTAssertEqual(IndexDocument.render(map, nodeMapVersion: 17), """
            <?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
            <!DOCTYPE boost_serialization>
            <boost_serialization signature="serialization::archive" version="4">
            <version>17</version>
            <node_map class_id="0" tracking_level="0" version="0">
            \t<count>2</count>
            \t<item_version>0</item_version>
            \t<item class_id="1" tracking_level="0" version="0">
            \t\t<first>10.0.0.3:12121</first>
            \t\t<second class_id="2" tracking_level="0" version="0">
            \t\t\t<node_server_name>10.0.0.3</node_server_name>
            \t\t\t<node_server_port>12121</node_server_port>
            \t\t\t<node_role>0</node_role>
            \t\t\t<node_state>0</node_state>
            \t\t\t<node_partition>1</node_partition>
            \t\t\t<node_balance>1</node_balance>
            \t\t\t<node_thread_type>19</node_thread_type>
            \t\t</second>
            \t</item>
            \t<item>
            \t\t<first>10.0.0.4:12121</first>
            \t\t<second>
            \t\t\t<node_server_name>10.0.0.4</node_server_name>
            \t\t\t<node_server_port>12121</node_server_port>
            \t\t\t<node_role>1</node_role>
            \t\t\t<node_state>1</node_state>
            \t\t\t<node_partition>1</node_partition>
            \t\t\t<node_balance>0</node_balance>
            \t\t\t<node_thread_type>20</node_thread_type>
            \t\t</second>
            \t</item>
            </node_map>
            <thread_type>21</thread_type>
            </boost_serialization>

            """)
        XCTAssertTrue(IndexDocument.render(NodeStatMap(nodes: []), nodeMapVersion: 0).contains("<thread_type>16</thread_type>"))
    }

    func testDumpWriterFormats() {
        let item = DumpedItem(key: "b", flag: 2, length: 2, version: 1, expire: 1795309244, data: Array("BB".utf8))
        let plain = CapturedText()
        DumpWriter(format: .standard, sink: plain).write(item)
        XCTAssertEqual(plain.text, "b 2 2 1 1795309244 'BB'\n")
        let csv = CapturedText()
        let writer = DumpWriter(format: .csv, sink: csv)
        writer.writeItemHeader()
        writer.write(DumpedItem(key: "k", flag: 0, length: 4, version: 7, expire: 0, data: Array("a,\"b".utf8)))
        writer.write(key: "plain")
        XCTAssertEqual(csv.text, "# key, flag, len, version, expire, data\nk,0,4,7,0,\"a,\"\"b\"\nplain\n")
    }
}

/// flare-stats' `behind` column: the index's delay, or a slave's replication lag, the larger.
final class BehindColumnTests: XCTestCase {
    func testTheLargerOfTheIndexDelayAndTheReplicationLag() {
        XCTAssertEqual(StatsOperation.behind(index: "0", replication: nil), "0")
        XCTAssertEqual(StatsOperation.behind(index: nil, replication: nil), "-")
        XCTAssertEqual(StatsOperation.behind(index: "0", replication: "3"), "3")
        XCTAssertEqual(StatsOperation.behind(index: "5", replication: "3"), "5")
        XCTAssertEqual(StatsOperation.behind(index: nil, replication: "2"), "2")
        XCTAssertEqual(StatsOperation.behind(index: "1", replication: "x"), "1", "an unreadable lag is ignored")
    }
}
