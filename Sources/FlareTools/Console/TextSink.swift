#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where a sub-command writes. The executables use the process's stdout/stderr; tests and
/// other embedders capture the text instead.
public protocol TextSink: AnyObject {
    func write(_ text: String)
    /// Raw bytes, for dump output whose values need not be UTF-8.
    func write(bytes: [UInt8])
}

extension TextSink {
    public func write(_ text: String) { write(bytes: Array(text.utf8)) }
}

/// A file descriptor (1 or 2), written unbuffered so that prompts and progress lines on stderr
/// interleave correctly with the table on stdout.
public final class DescriptorSink: TextSink {
    private let descriptor: Int32

    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    public static func standardOutput() -> DescriptorSink { DescriptorSink(descriptor: 1) }
    public static func standardError() -> DescriptorSink { DescriptorSink(descriptor: 2) }

    public func write(bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Collects everything written (thread-safe, `stats` writes from one thread but may be embedded).
public final class CapturedText: TextSink, Sendable {
    private let bytes = Mutex<[UInt8]>([])

    public init() {}

    public func write(bytes: [UInt8]) {
        self.bytes.withLock { $0 += bytes }
    }

    public var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// A file the user named with `--output`, created or truncated.
public final class FileSink: TextSink {
    private let descriptor: Int32

    public init(path: String) throws {
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ToolError.operationFailed("cannot open \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    public func write(bytes: [UInt8]) {
        DescriptorSink(descriptor: descriptor).write(bytes: bytes)
    }
}
