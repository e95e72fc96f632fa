#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// Builds the session of a parsed command (index server, timeouts, terminal) and turns the
/// operation's status into the process exit status.
enum CommandRunner {
    static func run(_ selection: IndexServerSelection, nodeArguments: [String] = [], dryRun: Bool = false,
                    _ operation: (ToolSession) throws -> ToolStatus) throws {
        let timeouts = Timeouts(connect: 1, request: Double(selection.timeout))
        let locator = IndexServerLocator(environment: flareEnvironment()) { endpoint, keys in
            guard let connection = try? FlareConnection(to: endpoint, peer: .indexServer, connectTimeout: timeouts.connect,
                                                        requestTimeout: timeouts.request) else { return false }
            let client = FlareClient(connection: connection)
            defer { client.close() }
            guard let map = try? client.statsNodes() else { return false }
            return keys.allSatisfy(map.contains)
        }
        let endpoints = try locator.locateAll(selection.choice, nodeArguments: nodeArguments)
        // With several index servers, whichever answers first in the order given (any of them
        // serves reads and hands changes to the one that decides).
        let endpoint = endpoints.count == 1 ? endpoints[0] : endpoints.first { endpoint in
            guard let connection = try? FlareConnection(to: endpoint, peer: .indexServer, connectTimeout: timeouts.connect,
                                                        requestTimeout: timeouts.request) else { return false }
            let client = FlareClient(connection: connection)
            defer { client.close() }
            return (try? client.ping()) == true
        } ?? endpoints[0]
        let session = ToolSession(indexServer: endpoint, timeouts: timeouts, dryRun: dryRun, console: .standard())
        let status = try operation(session)
        if status != .success { throw ExitCode(status.rawValue) }
    }

    /// The two environment variables the tools read.
    static func flareEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for name in ["FLARE_INDEX_SERVER", "FLARE_INDEX_SERVERS"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return environment
    }
}
