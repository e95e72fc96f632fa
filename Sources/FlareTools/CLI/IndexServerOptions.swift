import ArgumentParser

/// Options every sub-command shares: where the index server is and how long to wait for it.
protocol IndexServerSelection {
    var indexServer: String? { get }
    var indexServerPort: Int? { get }
    var cluster: String? { get }
    var timeout: Int { get }
}

extension IndexServerSelection {
    var choice: IndexServerChoice { IndexServerChoice(server: indexServer, port: indexServerPort, cluster: cluster) }

    func checkValues() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
        if let port = indexServerPort, !(1...65535).contains(port) {
            throw ValidationError("invalid index server port '\(port)'")
        }
    }
}

/// `-i/--index-server`, `-p/--index-server-port`, `--cluster`, `--timeout`.
typealias IndexServerOptions = IndexServerArguments<ShortAndLongPortName>

/// The same without the `-p` short name, which `dumpkey` uses for `--partition` (the original's
/// option parser lets the sub-command's `-p` win).
typealias IndexServerLongOptions = IndexServerArguments<LongPortName>

/// The names of the index server port option.
protocol IndexServerPortName {
    static var names: NameSpecification { get }
}

enum ShortAndLongPortName: IndexServerPortName {
    static var names: NameSpecification { [.customShort("p"), .customLong("index-server-port")] }
}

enum LongPortName: IndexServerPortName {
    static var names: NameSpecification { .customLong("index-server-port") }
}

struct IndexServerArguments<PortName: IndexServerPortName>: ParsableArguments, IndexServerSelection {
    @Option(name: [.customShort("i"), .customLong("index-server")],
            help: ArgumentHelp("index server hostname, optionally with :port; several comma-separated for redundant index servers, the first that answers is used (default: 127.0.0.1, or FLARE_INDEX_SERVER)",
                               valueName: "hostname[:port][,...]"))
    var indexServer: String?

    @Option(name: PortName.names, help: ArgumentHelp("index server port (default: 12120)", valueName: "port"))
    var indexServerPort: Int?

    @Option(name: .customLong("cluster"), help: ArgumentHelp("cluster name listed in FLARE_INDEX_SERVERS (once per index server)", valueName: "name"))
    var cluster: String?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("request timeout", valueName: "seconds"))
    var timeout: Int = 10

    func validate() throws { try checkValues() }
}

/// `--force` and `-n/--dry-run` of the sub-commands that change the cluster.
struct ChangeOptions: ParsableArguments {
    @Flag(name: .customLong("force"), help: "commit changes without confirmation")
    var force = false

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "dry run (send no changing request)")
    var dryRun = false
}
