/// The storage settings of flared.conf.
public struct StorageOptions: Sendable {
    /// `storage-type`: "tch" (default, persistent hash), "tcb", "kch" or "memory".
    public var type: String
    /// `data-dir`: where the database and its lock file live.
    public var dataDir: String
    /// `storage-bucket-size`: hash buckets of a newly created database.
    public var bucketSize: Int
    /// Byte cap of the "memory" engine; least recently used items are evicted above it.
    public var memoryLimitBytes: Int
    /// `storage-cache-size`: how many recently deleted keys keep their version and hold time.
    public var deleteHoldCapacity: Int
    /// `tombstone-retention`: seconds a delete's tombstone record is kept; 0 = only the delete-hold cache.
    public var tombstoneRetention: Int64

    public init(type: String = "tch", dataDir: String, bucketSize: Int = 131071,
                memoryLimitBytes: Int = 64 << 20, deleteHoldCapacity: Int = 65536, tombstoneRetention: Int64 = 3600) {
        self.type = type
        self.dataDir = dataDir
        self.bucketSize = bucketSize
        self.memoryLimitBytes = memoryLimitBytes
        self.deleteHoldCapacity = deleteHoldCapacity
        self.tombstoneRetention = tombstoneRetention
    }
}
