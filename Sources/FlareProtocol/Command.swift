/// Every request a node or index server understands, by its first word on the line.
public enum Command: UInt8, Sendable, CaseIterable {
    case get, gets, set, add, replace, append, prepend, cas, delete, incr, decr, touch, gat, gats
    case flushAll, stats, version, verbosity, quit, ping, dump, dumpKey, kill, show, keys
    /// `backlog <since-version> <partition> <partition-count>`: a slave catching up from its master.
    case backlog
    /// `reclaim [<partition> <partition-count>]`: drop the copies of keys that moved to a newer partition.
    case reclaim
    // Cluster and administrative commands; which daemon accepts which is decided by the executor.
    case node, meta, shutdown
    /// memcached 1.6's meta commands (MetaFlags): get, set, delete, arithmetic, no-op, debug.
    case mg, ms, md, ma, mn, me

    /// The name as it appears on the wire (and in `stats threads` as `op`).
    public var name: StaticString {
        switch self {
        case .get: "get"
        case .gets: "gets"
        case .set: "set"
        case .add: "add"
        case .replace: "replace"
        case .append: "append"
        case .prepend: "prepend"
        case .cas: "cas"
        case .delete: "delete"
        case .incr: "incr"
        case .decr: "decr"
        case .touch: "touch"
        case .gat: "gat"
        case .gats: "gats"
        case .flushAll: "flush_all"
        case .stats: "stats"
        case .version: "version"
        case .verbosity: "verbosity"
        case .quit: "quit"
        case .ping: "ping"
        case .dump: "dump"
        case .dumpKey: "dump_key"
        case .kill: "kill"
        case .show: "show"
        case .keys: "keys"
        case .backlog: "backlog"
        case .reclaim: "reclaim"
        case .node: "node"
        case .meta: "meta"
        case .shutdown: "shutdown"
        case .mg: "mg"
        case .ms: "ms"
        case .md: "md"
        case .ma: "ma"
        case .mn: "mn"
        case .me: "me"
        }
    }

    /// Commands that read or change items (as opposed to administrative ones).
    @inlinable public var isDataCommand: Bool {
        switch self {
        case .get, .gets, .set, .add, .replace, .append, .prepend, .cas, .delete, .incr, .decr, .touch, .gat, .gats: true
        default: false
        }
    }

    /// Storage commands are followed by a data block.
    @inlinable public var hasDataBlock: Bool {
        switch self {
        case .set, .add, .replace, .append, .prepend, .cas: true
        default: false
        }
    }

    /// Looks a command word up without allocating: dispatch on length and first byte, then compare.
    static func lookup(_ word: UnsafeRawBufferPointer) -> Command? {
        guard let first = word.first else { return nil }
        switch (word.count, first) {
        case (2, UInt8(ascii: "m")): return metaLookup(word[1])
        case (3, UInt8(ascii: "g")): return word.equals("get") ? .get : word.equals("gat") ? .gat : nil
        case (3, UInt8(ascii: "s")): return word.equals("set") ? .set : nil
        case (3, UInt8(ascii: "a")): return word.equals("add") ? .add : nil
        case (3, UInt8(ascii: "c")): return word.equals("cas") ? .cas : nil
        case (4, UInt8(ascii: "g")): return word.equals("gets") ? .gets : word.equals("gats") ? .gats : nil
        case (4, UInt8(ascii: "i")): return word.equals("incr") ? .incr : nil
        case (4, UInt8(ascii: "d")): return word.equals("decr") ? .decr : word.equals("dump") ? .dump : nil
        case (4, UInt8(ascii: "q")): return word.equals("quit") ? .quit : nil
        case (4, UInt8(ascii: "p")): return word.equals("ping") ? .ping : nil
        case (4, UInt8(ascii: "k")): return word.equals("kill") ? .kill : word.equals("keys") ? .keys : nil
        case (4, UInt8(ascii: "s")): return word.equals("show") ? .show : nil
        case (4, UInt8(ascii: "n")): return word.equals("node") ? .node : nil
        case (4, UInt8(ascii: "m")): return word.equals("meta") ? .meta : nil
        case (5, UInt8(ascii: "t")): return word.equals("touch") ? .touch : nil
        case (5, UInt8(ascii: "s")): return word.equals("stats") ? .stats : nil
        case (6, UInt8(ascii: "d")): return word.equals("delete") ? .delete : nil
        case (6, UInt8(ascii: "a")): return word.equals("append") ? .append : nil
        case (7, UInt8(ascii: "r")): return word.equals("replace") ? .replace : word.equals("reclaim") ? .reclaim : nil
        case (7, UInt8(ascii: "p")): return word.equals("prepend") ? .prepend : nil
        case (7, UInt8(ascii: "v")): return word.equals("version") ? .version : nil
        case (7, UInt8(ascii: "b")): return word.equals("backlog") ? .backlog : nil
        case (8, UInt8(ascii: "d")): return word.equals("dump_key") ? .dumpKey : nil
        case (8, UInt8(ascii: "s")): return word.equals("shutdown") ? .shutdown : nil
        case (9, UInt8(ascii: "f")): return word.equals("flush_all") ? .flushAll : nil
        case (9, UInt8(ascii: "v")): return word.equals("verbosity") ? .verbosity : nil
        default: return nil
        }
    }
}

extension Command {
    /// The two-letter meta commands by their second letter.
    static func metaLookup(_ second: UInt8) -> Command? {
        switch second {
        case UInt8(ascii: "g"): .mg
        case UInt8(ascii: "s"): .ms
        case UInt8(ascii: "d"): .md
        case UInt8(ascii: "a"): .ma
        case UInt8(ascii: "n"): .mn
        case UInt8(ascii: "e"): .me
        default: nil
        }
    }

    /// Meta commands carry their flags after the key (`ms`: after the data length).
    @inlinable public var isMeta: Bool {
        switch self {
        case .mg, .ms, .md, .ma, .mn, .me: true
        default: false
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Byte-wise comparison with an ASCII literal, without building a String.
    @inlinable
    public func equals(_ text: StaticString) -> Bool {
        guard count == text.utf8CodeUnitCount else { return false }
        guard count > 0 else { return true }
        return memcmp(baseAddress!, text.utf8Start, count) == 0
    }
}

#if canImport(Glibc)
import Glibc
#endif
