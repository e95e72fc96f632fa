import XCTest
@testable import FlareConfig

final class ShowVariablesTests: XCTestCase {
    func testNodeDefaults() throws {
        let settings = try parseNode(["--data-dir", "/tmp/flare-node", "--index-server-name", "127.0.0.1",
                                      "--server-name", "node1"])
        XCTAssertEqual(settings.showVariablesLines(), [
            "back_log:               1024",
            "config_path:            ",
            "pid_path:               ",
            "daemonize:              false",
            "data_dir:               /tmp/flare-node",
            "index_server(s):        127.0.0.1:12120",
            "max_connection:         128",
            "mutex_slot:             64",
            "noreply_window_limit:   0",
            "net_read_timeout:       600",
            "proxy_concurrency:      2",
            "reconstruction_interval:0",
            "reconstruction_bwlimit: 0",
            "replication_type:       async",
            "server_name:            node1",
            "server_port:            12121",
            "server_socket:          ",
            "stack_size:             128",
            "storage_ap:             4",
            "storage_bucket_size:    131071",
            "storage_cache_size:     65536",
            "storage_compress:       ",
            "storage_large:          false",
            "storage_lmemb:          128",
            "storage_nmemb:          256",
            "storage_dfunit:         0",
            "storage_type:           tch",
            "thread_pool_size:       5",
            "proxy_prior_netmask:    0",
            "max_total_thread_queue: 0",
            "time_watcher_enabled:   false",
            "time_watcher_polling_interval_msec: 0",
            "storage_access_watch_threshold_warn_msec: 0",
            "storage_access_watch_threshold_ping_ng_msec: 0",
            "cluster_replication:    0",
            "cluster_replication_server_name: ",
            "cluster_replication_server_port: 12121",
            "cluster_replication_concurrency: 2",
            "cluster_replication_mode: duplicate",
        ])
    }

    /// The configuration of the node recorded in docs/original-behaviour.md ("Recorded exchanges"), which must
    /// produce the recorded reply byte for byte.
    func testNodeTranscript() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file("""
            data-dir = DATA_DIR
            index-servers = 127.0.0.1:12130
            max-connection = 256
            mutex-slot = 32
            proxy-concurrency = 2
            server-name = 127.0.0.1
            server-port = 12131
            storage-type = tch
            thread-pool-size = 16
            """)
        var settings = try parseNode(["-f", path])
        settings.configPath = "flared.conf"  // the recording ran flared with a relative -f
        let reply = (settings.showVariablesLines() + ["END"]).map { $0 + "\r\n" }.joined()
        XCTAssertEqual(reply, """
            back_log:               1024\r
            config_path:            flared.conf\r
            pid_path:               \r
            daemonize:              false\r
            data_dir:               DATA_DIR\r
            index_server(s):        127.0.0.1:12130\r
            max_connection:         256\r
            mutex_slot:             32\r
            noreply_window_limit:   0\r
            net_read_timeout:       600\r
            proxy_concurrency:      2\r
            reconstruction_interval:0\r
            reconstruction_bwlimit: 0\r
            replication_type:       async\r
            server_name:            127.0.0.1\r
            server_port:            12131\r
            server_socket:          \r
            stack_size:             128\r
            storage_ap:             4\r
            storage_bucket_size:    131071\r
            storage_cache_size:     65536\r
            storage_compress:       \r
            storage_large:          false\r
            storage_lmemb:          128\r
            storage_nmemb:          256\r
            storage_dfunit:         0\r
            storage_type:           tch\r
            thread_pool_size:       16\r
            proxy_prior_netmask:    0\r
            max_total_thread_queue: 0\r
            time_watcher_enabled:   false\r
            time_watcher_polling_interval_msec: 0\r
            storage_access_watch_threshold_warn_msec: 0\r
            storage_access_watch_threshold_ping_ng_msec: 0\r
            cluster_replication:    0\r
            cluster_replication_server_name: \r
            cluster_replication_server_port: 12121\r
            cluster_replication_concurrency: 2\r
            cluster_replication_mode: duplicate\r
            END\r

            """)
    }

    func testNodeValuesThatDifferFromDefaults() throws {
        let settings = try parseNode([
            "--data-dir", "/d", "--index-servers", "a:1,b:2", "-p", "/run/f.pid", "--daemonize",
            "--cluster-replication", "true", "--server-socket", "/run/flared.sock", "--storage-large",
        ])
        let lines = settings.showVariablesLines()
        XCTAssertTrue(lines.contains("index_server(s):        a:1, b:2"))
        XCTAssertTrue(lines.contains("pid_path:               /run/f.pid"))
        XCTAssertTrue(lines.contains("daemonize:              true"))
        XCTAssertTrue(lines.contains("cluster_replication:    1"))
        XCTAssertTrue(lines.contains("server_socket:          /run/flared.sock"))
        XCTAssertTrue(lines.contains("storage_large:          true"))
    }

    /// The index server recorded in docs/original-behaviour.md, "Recorded exchanges".
    func testIndexTranscript() throws {
        let fixtures = try ConfigFixtures()
        let path = try fixtures.file(named: "flarei.conf", """
            data-dir = DATA_DIR
            log-facility = local0
            max-connection = 256
            monitor-threshold = 3
            monitor-interval = 1
            server-name = 127.0.0.1
            server-port = 12120
            thread-pool-size = 8
            """)
        var settings = try parseIndex(["-f", path])
        settings.configPath = "flarei.conf"
        XCTAssertEqual(settings.showVariablesLines(), [
            "config_path:              flarei.conf",
            "pid_path:                 ",
            "daemonize:                false",
            "data_dir:                 DATA_DIR",
            "max_connection:           256",
            "monitor_threshold:        3",
            "monitor_interval:         1",
            "monitor_read_timeout:     1000",
            "net_read_timeout:         600000",
            "partition_modular_hint:   1",
            "partition_modular_virtual:4096",
            "partition_size:           1024",
            "partition_type:           modular",
            "key_hash_algorithm:       simple",
            "server_name:              127.0.0.1",
            "server_port:              12120",
            "server_socket:            ",
            "stack_size:               128",
            "thread_pool_size:         8",
        ])
    }

    func testIndexDefaults() throws {
        let lines = try parseIndex(["--data-dir", "/srv/index", "--server-name", "index1"]).showVariablesLines()
        XCTAssertEqual(lines.first, "config_path:              ")
        XCTAssertTrue(lines.contains("monitor_interval:         5"))
        XCTAssertTrue(lines.contains("max_connection:           128"))
        XCTAssertTrue(lines.contains("thread_pool_size:         5"))
        XCTAssertTrue(lines.contains("server_name:              index1"))
        XCTAssertEqual(lines.count, 19)
    }
}
