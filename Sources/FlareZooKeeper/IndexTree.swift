import FlareCluster

/// The znodes of one flare cluster under its root (`index-db = zookeeper://…/<root>`), laid out as
/// the original flarei and its `flare-zkadmin` did, so an existing tree serves either:
///
///     <root>/index/lock        children: `<uuid>-lock-<sequence>`, ephemeral; lowest one decides
///     <root>/index/primary     data: `<server-name>:<server-port>` of the index server deciding
///     <root>/index/servers     children: `<server-name>:<server-port>`, ephemeral, one per flarei
///     <root>/index/nodemap     data: the node map, in flare.xml's format (with its version)
///     <root>/index/meta/<key>  data: partition-size, key-hash-algorithm, partition-type,
///                              partition-modular-hint, partition-modular-virtual
///
/// Paths are absolute (root included) rather than a chroot in the connect string, so the tree
/// can be created from nothing with the same session.
public struct IndexTree: Sendable, Equatable {
    public let root: String

    /// `root` is the path of `index-db` (`/flare`); a trailing slash is dropped.
    public init(root: String) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root == "/" ? "" : root
    }

    public var index: String { root + "/index" }
    public var lock: String { index + "/lock" }
    public var primary: String { index + "/primary" }
    public var servers: String { index + "/servers" }
    public var nodemap: String { index + "/nodemap" }
    public var meta: String { index + "/meta" }

    public static let metaKeys = ["partition-size", "key-hash-algorithm", "partition-type",
                                  "partition-modular-hint", "partition-modular-virtual"]

    /// The sequence number ZooKeeper appended to a lock znode (`<uuid>-lock-0000000012`); nil for
    /// a name of another form.
    public static func lockSequence(of name: String) -> Int? {
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let digits = name[name.index(after: dash)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    /// Lock znodes by sequence number, the leader first; names of another form are left out.
    public static func leaderFirst(_ names: [String]) -> [String] {
        names.compactMap { name in lockSequence(of: name).map { (name, $0) } }.sorted { $0.1 < $1.1 }.map(\.0)
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case zooKeeper(ZooKeeperError)
        case missing(String)
        case badNodeMap(String, FlareXMLError)

        public var description: String {
            switch self {
            case .zooKeeper(let error): "\(error)"
            case .missing(let path): "\(path) does not exist: create the tree first (flare-zkadmin init)"
            case .badNodeMap(let path, let error): "\(path) does not hold a valid node map: \(error)"
            }
        }
    }

    /// Creates whatever of the layout is missing: the root's ancestors, the index znodes, an empty
    /// node map and the meta values given. Existing znodes keep their data. Returns the paths created.
    @discardableResult
    public func initialise(_ session: ZooKeeperSession, meta values: [String: String]) throws(Failure) -> [String] {
        var created: [String] = []
        var ancestor = ""
        for component in root.split(separator: "/") {
            ancestor += "/" + component
            if try ensure(session, ancestor, data: []) { created.append(ancestor) }
        }
        for path in [index, lock, primary, servers, meta] where try ensure(session, path, data: []) {
            created.append(path)
        }
        if try ensure(session, nodemap, data: Array(FlareXML.encode(IndexState()).utf8)) { created.append(nodemap) }
        for key in Self.metaKeys {
            guard let value = values[key] else { continue }
            if try ensure(session, meta + "/" + key, data: Array(value.utf8)) { created.append(meta + "/" + key) }
        }
        return created
    }

    /// Whether the index znodes flarei needs exist.
    public func check(_ session: ZooKeeperSession) throws(Failure) {
        for path in [index, lock, servers, nodemap] {
            let present: Bool
            do { present = try session.exists(path) } catch { throw .zooKeeper(error) }
            guard present else { throw .missing(path) }
        }
    }

    /// The node map stored in the tree and the znode version it was read at.
    public func readNodeMap(_ session: ZooKeeperSession, watch: Bool = false) throws(Failure) -> (IndexState, Int32) {
        let data: ZooKeeperSession.Data
        do {
            data = try session.get(nodemap, watch: watch)
        } catch {
            throw error.isNoNode ? .missing(nodemap) : .zooKeeper(error)
        }
        do {
            return (try FlareXML.decode(data.text), data.version)
        } catch {
            throw .badNodeMap(nodemap, error)
        }
    }

    /// Replaces the node map (`flare-zkadmin import`): the tree must exist.
    public func writeNodeMap(_ session: ZooKeeperSession, _ state: IndexState) throws(Failure) {
        do {
            try session.set(nodemap, data: Array(FlareXML.encode(state).utf8))
        } catch {
            throw error.isNoNode ? .missing(nodemap) : .zooKeeper(error)
        }
    }

    /// The values under `index/meta`, which override flarei's own partitioning settings.
    public func readMeta(_ session: ZooKeeperSession) throws(Failure) -> [String: String] {
        var values: [String: String] = [:]
        do {
            guard try session.exists(meta) else { return [:] }
            for key in try session.children(meta) {
                values[key] = try session.get(meta + "/" + key).text.trimmingCharacters(in: " \t\r\n")
            }
        } catch {
            throw .zooKeeper(error)
        }
        return values
    }

    /// Creates `path` unless it exists; true when created.
    private func ensure(_ session: ZooKeeperSession, _ path: String, data: [UInt8]) throws(Failure) -> Bool {
        do {
            try session.create(path, data: data, mode: .persistent)
            return true
        } catch {
            if error.isNodeExists { return false }
            throw .zooKeeper(error)
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
