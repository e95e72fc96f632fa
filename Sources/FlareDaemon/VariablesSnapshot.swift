import Synchronization

/// The effective settings as `show variables` prints them: replaced by a reload on the main
/// thread, read by any worker. Behind a mutex; never on a data request's path.
public final class VariablesSnapshot: Sendable {
    private let current: Mutex<[String]>

    public init(_ lines: [String]) {
        current = Mutex(lines)
    }

    public func update(_ lines: [String]) {
        current.withLock { $0 = lines }
    }

    public func lines() -> [String] {
        current.withLock { $0 }
    }
}
