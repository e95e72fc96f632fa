#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maps flare's `storage-type` names onto the engines this implementation has.
/// Called once per open, from the opening thread.
enum EngineSelection {
    static let acceptedTypes = ["tch", "tcb", "kch", "memory"]

    static func makeEngine(_ options: StorageOptions) throws(StorageError) -> any StorageEngine {
        switch options.type {
        case "memory":
            return MemoryEngine(limitBytes: options.memoryLimitBytes)
        case "tch", "kch", "tcb":
            return try TkrzwEngine.open(dataDir: options.dataDir, bucketSize: options.bucketSize,
                                        mappingNote: note(for: options))
        default:
            throw .unsupportedType(options.type)
        }
    }

    /// What the daemon should log about the mapping, including a legacy file it cannot read.
    private static func note(for options: StorageOptions) -> String {
        let file = "\(options.dataDir)/\(TkrzwEngine.fileName)"
        var note: String
        switch options.type {
        case "tcb":
            // TreeDBM keeps dirty pages in its own cache: a kill -9 lost every
            // record written since open in our test, which breaks durability.
            note = "storage-type tcb (Tokyo Cabinet B+ tree) is served by Tkrzw HashDBM in \(file): "
                + "Tkrzw TreeDBM loses unsynced writes on a crash; prefix search (keys) is unavailable"
        case "kch":
            note = "storage-type kch (Kyoto Cabinet hash) is served by Tkrzw HashDBM in \(file)"
        default:
            note = "storage-type tch (Tokyo Cabinet hash) is served by Tkrzw HashDBM in \(file)"
        }
        let legacy = ["flare.hdb", "flare.bdb", "flare.kch"].filter { access("\(options.dataDir)/\($0)", F_OK) == 0 }
        if !legacy.isEmpty {
            note += "; found \(legacy.joined(separator: ", ")) from the original flare, which is not read"
        }
        return note
    }
}
