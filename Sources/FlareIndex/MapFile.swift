#if canImport(Glibc)
import Glibc
#endif
import FlareCluster

/// `<data-dir>/flare.xml`, the node map on disk in the original's format, so an existing cluster
/// can switch its index server to ours and back.
///
/// Writes are atomic: temp file, fsync, rename, fsync of the directory. A crash at any instant
/// leaves either the old or the new map, never a torn one. Used under the coordinator's lock.
struct MapFile: Sendable {
    let directory: String
    var path: String { directory + "/flare.xml" }
    var temporaryPath: String { directory + "/flare.xml.tmp" }

    enum Failure: Error, CustomStringConvertible {
        case read(path: String, errno: Int32)
        case decode(path: String, FlareXMLError)
        case write(path: String, step: String, errno: Int32)

        var description: String {
            switch self {
            case .read(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
            case .decode(let path, let error): "\(path) is not a valid node map: \(error)"
            case .write(let path, let step, let code): "cannot save the node map to \(path) (\(step)): \(String(cString: strerror(code)))"
            }
        }
    }

    /// The saved state; a missing file is an empty map (a new cluster).
    func load() throws(Failure) -> IndexState {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return IndexState() }
            throw .read(path: path, errno: errno)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .read(path: path, errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        do {
            return try FlareXML.decode(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw .decode(path: path, error)
        }
    }

    func store(_ state: IndexState) throws(Failure) {
        let text = FlareXML.encode(state)
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .write(path: temporaryPath, step: "open", errno: errno) }
        let written = text.utf8CString.withUnsafeBufferPointer { buffer -> Bool in
            var offset = 0
            let total = buffer.count - 1  // without the terminating NUL
            while offset < total {
                let n = write(fd, buffer.baseAddress! + offset, total - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        guard written, fsync(fd) == 0 else {
            let code = errno
            close(fd)
            throw .write(path: temporaryPath, step: "write", errno: code)
        }
        close(fd)
        guard rename(temporaryPath, path) == 0 else { throw .write(path: path, step: "rename", errno: errno) }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}
