#if canImport(Glibc)
import Glibc
#endif

/// Process-level chores of a daemon: detaching and the pid file.
public enum ProcessControl {
    public enum Failure: Error, CustomStringConvertible {
        case fork(Int32)
        case pidFileInUse(path: String, pid: Int32)
        case pidFile(path: String, errno: Int32)
        case dataDir(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .fork(let code): "cannot daemonize: fork failed: \(String(cString: strerror(code)))"
            case .pidFileInUse(let path, let pid): "pid file \(path) names a running process (\(pid)); is another daemon using this data-dir?"
            case .pidFile(let path, let code): "cannot write pid file \(path): \(String(cString: strerror(code)))"
            case .dataDir(let path, let code): "data-dir \(path) is not a writable directory: \(String(cString: strerror(code)))"
            }
        }
    }

    /// Detaches from the terminal: fork, new session, stdio to /dev/null. Call before starting threads.
    public static func daemonize() throws(Failure) {
        let pid = fork()
        if pid < 0 { throw .fork(errno) }
        if pid > 0 { _exit(0) }
        setsid()
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            dup2(null, 2)
            if null > 2 { close(null) }
        }
    }

    /// Creates the data directory (and its parents) if needed and checks that it is writable,
    /// so a wrong path fails at start with its name rather than later with an obscure error.
    public static func prepareDataDirectory(_ path: String) throws(Failure) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw .dataDir(path: prefix, errno: errno) }
        }
        guard access(path, W_OK | X_OK) == 0 else { throw .dataDir(path: path, errno: errno) }
    }

    /// Writes our pid, refusing if the file names another live process (a stale file is replaced).
    public static func writePidFile(_ path: String) throws(Failure) {
        if let text = try? readFile(path), let other = Int32(text.trimmingCharacters(in: " \n")), other != getpid(),
           other > 0, kill(other, 0) == 0 {
            throw .pidFileInUse(path: path, pid: other)
        }
        let line = "\(getpid())\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .pidFile(path: path, errno: errno) }
        defer { close(fd) }
        _ = line.withCString { write(fd, $0, strlen($0)) }
    }

    /// Writes a line to standard error (before logging exists, or next to it in the foreground).
    public static func printError(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    public static func removePidFile(_ path: String) {
        unlink(path)
    }

    static func readFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure.pidFile(path: path, errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, 64)
        return String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
