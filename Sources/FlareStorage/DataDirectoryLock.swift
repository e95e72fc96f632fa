#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive, non-blocking flock on `<dataDir>/flare.lock`, so two daemons
/// never open the same database. The file records the owner's pid for the
/// error message of the one that loses. The kernel drops the lock if the
/// process dies, so a kill -9 never leaves a stale lock behind.
///
/// Threads: created and released by the engine that owns it, under its close protocol.
final class DataDirectoryLock {
    static let fileName = "flare.lock"

    let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    static func acquire(dataDir: String) throws(StorageError) -> DataDirectoryLock {
        if mkdir(dataDir, 0o755) != 0 && errno != EEXIST {
            throw .openFailed(path: dataDir, detail: "cannot create data directory: \(errnoText())")
        }
        let path = dataDir + "/" + fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            throw .openFailed(path: path, detail: "cannot open lock file: \(errnoText())")
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            let owner = readOwner(descriptor)
            close(descriptor)
            if failure == EWOULDBLOCK { throw .locked(path: path, ownerPID: owner) }
            throw .openFailed(path: path, detail: "cannot lock: \(String(cString: strerror(failure)))")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return DataDirectoryLock(path: path, descriptor: descriptor)
    }

    /// Unlocks and closes. The file stays: removing it could race with a new owner.
    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    private static func readOwner(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 15, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        return text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first.flatMap { Int32($0) }
    }
}

func errnoText() -> String {
    String(cString: strerror(errno))
}
