/// A key whose value is one word out of a fixed set.
public protocol SettingChoice: RawRepresentable, CaseIterable, Hashable, Sendable where RawValue == String {}

extension SettingChoice {
    static var names: [String] { allCases.map(\.rawValue) }
}

/// How a master replicates writes to its slaves by default.
public enum ReplicationType: String, SettingChoice {
    case async
    case sync
}

/// The hash used to map keys to partitions (docs/original-behaviour.md, "Key hashing and partition resolver").
public enum KeyHashAlgorithm: String, SettingChoice {
    case simple
    case bitshift
    case crc32
    case adler32
    case murmur
    case jenkins
}

/// The partition resolver; flare only ever had one.
public enum PartitionType: String, SettingChoice {
    case modular
}

/// How writes are sent to another cluster (docs/original-behaviour.md, "Cluster flows (roles, states, fail-over,
/// construction)").
public enum ClusterReplicationMode: String, SettingChoice {
    case duplicate
    case forward
}

/// Log verbosity threshold. The names equal swift-log's `Logger.Level` raw
/// values, so `Logger.Level(rawValue: level.rawValue)` always succeeds.
public enum LogLevel: String, SettingChoice {
    case trace
    case debug
    case info
    case notice
    case warning
    case error
    case critical
}
