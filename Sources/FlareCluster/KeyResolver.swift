/// What a node uses to place a key: the cluster's hash algorithm plus the modular table,
/// both as published by the index via `meta`.
public struct KeyResolver: Sendable, Equatable {
    public let algorithm: KeyHashAlgorithm
    public let modular: ModularResolver

    public init(algorithm: KeyHashAlgorithm, modular: ModularResolver) {
        self.algorithm = algorithm
        self.modular = modular
    }

    /// Builds the table from `meta` values; defaults are the index's.
    public init(
        algorithm: KeyHashAlgorithm = .simple,
        partitionSize: Int = 1024,
        hint: Int = 1,
        virtual: Int = 4096
    ) throws(ModularResolverError) {
        self.init(algorithm: algorithm, modular: try ModularResolver(partitionSize: partitionSize, hint: hint, virtual: virtual))
    }

    /// The key's partition among `count` partitions, or `ModularResolver.noPartition` when
    /// `count` is outside 1 … P−1 (callers handle "no partition available" before resolving).
    @inline(__always)
    public func partition(of key: UnsafeRawBufferPointer, count: Int) -> Int {
        modular.partition(forHash: algorithm.hash(key), count: count)
    }

    /// Convenience for keys held as a `String` (its UTF-8 bytes are the key).
    public func partition(of key: String, count: Int) -> Int {
        modular.partition(forHash: algorithm.hash(key), count: count)
    }

    /// Convenience for keys held as a byte array.
    public func partition(of key: [UInt8], count: Int) -> Int {
        modular.partition(forHash: algorithm.hash(key), count: count)
    }
}
