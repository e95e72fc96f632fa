/// Every failure the storage layer reports. Each case names the file or setting
/// involved so an operator can act on the message alone.
public enum StorageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `storage-type` names an engine this implementation does not have.
    case unsupportedType(String)
    /// The database (or its directory) could not be opened or created.
    case openFailed(path: String, detail: String)
    /// Another process (or another store in this process) holds the data directory.
    case locked(path: String, ownerPID: Int32?)
    /// A read or write of the database failed.
    case io(path: String, detail: String)
    /// The store was used after `close()`.
    case closed(path: String)
    /// One item is larger than the engine can hold.
    case itemTooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .unsupportedType(let name):
            return "unsupported storage type \"\(name)\"; accepted values are tch, tcb, kch and memory"
        case .openFailed(let path, let detail):
            return "cannot open storage \(path): \(detail)"
        case .locked(let path, let pid):
            let owner = pid.map { "process \($0)" } ?? "another process"
            return "storage \(path) is locked by \(owner); stop it or use another data-dir"
        case .io(let path, let detail):
            return "i/o error on storage \(path): \(detail)"
        case .closed(let path):
            return "storage \(path) is already closed"
        case .itemTooLarge(let bytes, let limit):
            return "item of \(bytes) bytes exceeds the storage limit of \(limit) bytes"
        }
    }
}
