/// What a handler did with the input it was given.
public struct ProcessOutcome {
    /// Bytes of input fully handled.
    public var consumed: Int
    /// The next request needs at least this many bytes of input in total (0 = any more).
    public var needAtLeast: Int
    /// Bytes still to arrive that must be discarded (a refused data block).
    public var swallow: Int
    /// Close once the pending output is written.
    public var close: Bool

    public init(consumed: Int, needAtLeast: Int = 0, swallow: Int = 0, close: Bool = false) {
        self.consumed = consumed
        self.needAtLeast = needAtLeast
        self.swallow = swallow
        self.close = close
    }
}

/// The protocol logic plugged into the network layer. One handler per worker thread: it is only
/// ever called on that worker's thread, so it may keep unsynchronised per-thread state.
public protocol ConnectionHandler: AnyObject {
    /// Parses and executes as many complete requests from `input` as it can, appending replies to
    /// `connection.output`. Must stop early after starting a streamed reply (see `Connection.stream`).
    func process(_ connection: Connection, input: UnsafeRawBufferPointer) -> ProcessOutcome
    /// Continues a streamed reply once the output has drained (or its pause has elapsed).
    func resume(_ connection: Connection)
    func connectionClosed(_ connection: Connection)
}
