#if canImport(Glibc)
import Glibc
#endif
import FlareNet
import FlareProtocol
import FlareStorage

/// A `dump` or `dump_key` in progress on one connection: it streams the store in batches as the
/// client reads, so a large store neither blocks the worker nor fills memory, and it paces itself
/// for the `wait` (µs per item) and `bwlimit` (KiB/s) arguments that reconstruction uses.
final class DumpStream {
    let cursor: ItemCursor
    let keysOnly: Bool
    let waitMicroseconds: Int
    let partition: Int
    let partitionCount: Int
    let bytesPerSecond: Int
    private let startedAt = DumpStream.monotonicMicroseconds()
    private var bytesSent = 0

    init(cursor: ItemCursor, keysOnly: Bool, arguments: DumpArguments) {
        self.cursor = cursor
        self.keysOnly = keysOnly
        waitMicroseconds = arguments.wait
        partition = arguments.partition
        partitionCount = arguments.partitionCount
        bytesPerSecond = arguments.bwlimitKiB * 1024
    }

    /// Appends the next batch; returns the pause before the following one, or nil when finished.
    func nextBatch(into output: ReplyBuffer, now: Int64, filter: (UnsafeRawBufferPointer, Int, Int) -> Bool) throws(StorageError) -> Int? {
        let before = output.pendingCount
        let filtering = partition >= 0 && partitionCount > 0
        let more = try cursor.next(maxItems: waitMicroseconds > 0 ? 1 : 256, now: now) { key, header, value in
            if filtering && !filter(key, partition, partitionCount) { return }
            if keysOnly {
                output.append("KEY ")
                output.append(key)
                output.appendCRLF()
            } else {
                output.append("VALUE ")
                output.append(key)
                output.append(byte: 0x20)
                output.appendDecimal(UInt64(header.flags))
                output.append(byte: 0x20)
                output.appendDecimal(UInt64(value.count))
                output.append(byte: 0x20)
                output.appendDecimal(header.version)
                output.append(byte: 0x20)
                output.appendDecimal(header.expire)
                output.appendCRLF()
                output.append(value)
                output.appendCRLF()
            }
        }
        guard more else { return nil }
        bytesSent += output.pendingCount - before
        var pause = waitMicroseconds
        if bytesPerSecond > 0 {
            // Split so that no product can overflow, however long the dump runs.
            let due = bytesSent / bytesPerSecond * 1_000_000 + bytesSent % bytesPerSecond * 1_000_000 / bytesPerSecond
            let elapsed = DumpStream.monotonicMicroseconds() - startedAt
            pause = max(pause, due - elapsed)
        }
        return pause
    }

    static func monotonicMicroseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
    }
}

/// `dump [<wait>] [<partition>] [<partition_count>] [<bwlimit>]` and
/// `dump_key [<partition>] [<partition_count>] [<bwlimit>]`, with flare's rules: a word that is not
/// a number ends the arguments, and a partition needs a count that includes it.
///
/// Every number is range-checked, because a client chooses them: the original reads them as C
/// `int`s and passes the wait to `usleep`, which takes less than a second; a wait beyond that, a
/// partition or count beyond an `int`, or a negative bandwidth is refused (`ERROR`) instead of
/// overflowing the pacing arithmetic or holding the store's only iteration for ever.
struct DumpArguments {
    /// The longest pause per item, in µs (usleep's limit).
    static let maximumWait = 999_999
    static let maximumInt = Int(Int32.max)

    var wait = 0
    var partition = -1
    var partitionCount = 0
    var bwlimitKiB = 0

    init?(_ arguments: Tokenizer, hasWait: Bool) {
        var tokens = arguments
        var numbers: [Int] = []
        while numbers.count < 4, let word = tokens.next() {
            guard let first = word.first, first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else { break }
            guard let value = Decimal.int32(word) else { return nil }
            numbers.append(Int(value))
        }
        if hasWait {
            if !numbers.isEmpty { wait = numbers.removeFirst() }
            guard (0...Self.maximumWait).contains(wait) else { return nil }
        }
        if !numbers.isEmpty { partition = numbers.removeFirst() }
        if !numbers.isEmpty { partitionCount = numbers.removeFirst() }
        if !numbers.isEmpty { bwlimitKiB = numbers.removeFirst() }
        if partition >= 0 && partitionCount <= partition { return nil }
        if partitionCount > 0 && partition < 0 { return nil }
        if partitionCount < 0 || bwlimitKiB < 0 { return nil }
    }
}

extension NodeHandler {
    func startDump(_ request: Request, _ connection: Connection) -> Next {
        let keysOnly = request.command == .dumpKey
        guard let arguments = DumpArguments(request.arguments, hasWait: !keysOnly) else {
            connection.output.append("ERROR\r\n")
            return .next
        }
        guard context.iterationBusy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            connection.output.append("SERVER_ERROR database busy\r\n")
            return .next
        }
        do {
            connection.handlerState = DumpStream(cursor: try store.makeCursor(), keysOnly: keysOnly, arguments: arguments)
        } catch {
            context.iterationBusy.store(false, ordering: .releasing)
            connection.output.append(keysOnly ? "SERVER_ERROR\r\n" : "SERVER_ERROR iteration canceled\r\n")
            return .next
        }
        resume(connection)
        return .streaming
    }

    public func resume(_ connection: Connection) {
        if connection.handlerState is BacklogReplay { return resumeBacklogReplay(connection) }
        guard let dump = connection.handlerState as? DumpStream else { return }
        do {
            if let pause = try dump.nextBatch(into: connection.output, now: clock.now, filter: { key, partition, count in self.view.resolver.partition(of: key, count: count) == partition }) {
                connection.stream(pauseMicroseconds: pause)
                return
            }
            connection.output.append("END\r\n")
        } catch {
            context.logger.error("dump interrupted: \(error)")
            connection.output.append(dump.keysOnly ? "SERVER_ERROR\r\n" : "SERVER_ERROR iteration canceled\r\n")
        }
        finishDump(connection)
    }

    private func finishDump(_ connection: Connection) {
        connection.handlerState = nil
        connection.endStream()
        context.iterationBusy.store(false, ordering: .releasing)
    }

    public func connectionClosed(_ connection: Connection) {
        if connection.handlerState is DumpStream {
            connection.handlerState = nil
            context.iterationBusy.store(false, ordering: .releasing)
        }
    }
}
