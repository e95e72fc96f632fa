import FlareCluster

extension KeyHashAlgorithm {
    /// The algorithm named `name`, if it is one flare partitions with (`simple`, `crc32`,
    /// `jenkins`): the only ones `verify --key-hash-algorithm` accepts and takes from `meta`.
    init?(partitioningName name: String) {
        guard let algorithm = KeyHashAlgorithm(rawValue: name), algorithm.isUsableForPartitioning else { return nil }
        self = algorithm
    }
}
