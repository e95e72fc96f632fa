/// One index server a node registers with and receives node-map pushes from.
public struct IndexServerAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Host name or IPv4 address, as configured (no resolution here).
    public var name: String
    public var port: Int

    public init(name: String, port: Int) {
        self.name = name
        self.port = port
    }

    /// `name:port`, the spelling used in `index-servers`.
    public var description: String { "\(name):\(port)" }

    /// Parses `name:port[,name:port...]`; spaces around the commas are allowed.
    ///
    /// Stricter than the original's regular expression, which skipped
    /// anything it did not recognise: a stray token there silently dropped a
    /// server, here it is reported. Returns nil for any malformed entry.
    static func parseList(_ text: String) -> [IndexServerAddress]? {
        var servers: [IndexServerAddress] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.trimmingConfigWhitespace().split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2,
                  !parts[0].isEmpty,
                  !parts[0].contains(where: \.isWhitespace),
                  let port = Int(parts[1]),
                  ClosedRange.port.contains(port)
            else { return nil }
            servers.append(IndexServerAddress(name: String(parts[0]), port: port))
        }
        return servers
    }
}
