import Foundation
import Synchronization
import XCTest
@testable import FlareStorage

/// A fixed clock for tests: every expiry is explicit relative to it.
let t0: Int64 = 1_700_000_000

/// A time source for VersionClock that only moves when a test moves it, so that
/// the versions a store issues are predictable: at a standing time, each new
/// version is the previous one + 1.
final class ManualTime: Sendable {
    private let microseconds: Mutex<UInt64>

    init(_ microseconds: UInt64) { self.microseconds = Mutex(microseconds) }

    func set(_ value: UInt64) { microseconds.withLock { $0 = value } }

    var read: VersionClock.Microseconds { { [self] in microseconds.withLock { $0 } } }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Convenience wrappers that take Swift values; the store itself only sees byte buffers.
extension ItemStore {
    @discardableResult
    func store(_ command: StoreCommand, _ key: [UInt8], _ value: [UInt8], flags: UInt32 = 0, expire: Int64 = 0,
               casUnique: UInt64 = 0, version: UInt64 = 0, now: Int64 = t0) throws -> StoreOutcome {
        try key.withUnsafeBytes { key in
            try value.withUnsafeBytes { value in
                try store(command, key: key, flags: flags, expire: expire, value: value,
                          casUnique: casUnique, version: version, now: now)
            }
        }
    }

    @discardableResult
    func set(_ key: String, _ value: String, flags: UInt32 = 0, expire: Int64 = 0, version: UInt64 = 0,
             now: Int64 = t0) throws -> StoreOutcome {
        try store(.set, bytes(key), bytes(value), flags: flags, expire: expire, version: version, now: now)
    }

    /// The live item as (header, value bytes), copied out of the store.
    func item(_ key: [UInt8], now: Int64 = t0) throws -> (header: ItemHeader, value: [UInt8])? {
        try key.withUnsafeBytes { key in
            try get(key, now: now) { header, value in (header, Array(value)) }
        }
    }

    func item(_ key: String, now: Int64 = t0) throws -> (header: ItemHeader, value: [UInt8])? {
        try item(bytes(key), now: now)
    }

    func text(_ key: String, now: Int64 = t0) throws -> String? {
        try item(key, now: now).map { String(decoding: $0.value, as: UTF8.self) }
    }

    func delete(_ key: String, holdUntil: Int64 = 0, version: UInt64 = 0, now: Int64 = t0) throws -> DeleteOutcome {
        try bytes(key).withUnsafeBytes { try delete($0, holdUntil: holdUntil, version: version, now: now) }
    }

    func incr(_ key: String, _ delta: UInt64, now: Int64 = t0) throws -> ArithmeticOutcome {
        try bytes(key).withUnsafeBytes { try arithmetic($0, delta: delta, increment: true, now: now) }
    }

    func decr(_ key: String, _ delta: UInt64, now: Int64 = t0) throws -> ArithmeticOutcome {
        try bytes(key).withUnsafeBytes { try arithmetic($0, delta: delta, increment: false, now: now) }
    }

    func touch(_ key: String, expire: Int64, now: Int64 = t0) throws -> (header: ItemHeader, value: [UInt8])? {
        try bytes(key).withUnsafeBytes { key in
            try touch(key, expire: expire, now: now) { header, value in (header, Array(value)) }
        }
    }

    /// Every live item a fresh cursor yields, in batches of `batch`, with `between` run after each batch.
    func dumpKeys(batch: Int = 100, now: Int64 = t0, between: () throws -> Void = {}) throws -> [[UInt8]] {
        let cursor = try makeCursor()
        var keys: [[UInt8]] = []
        while try cursor.next(maxItems: batch, now: now, { key, _, _ in keys.append(Array(key)) }) {
            try between()
        }
        return keys
    }
}

/// A fresh, empty directory under the system temp dir, removed by the test's teardown.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("flare-storage-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// Runs `body(i)` on `count` threads at once and waits for all of them.
func runConcurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}
