/// A blocking session with one flare daemon, following the original client's mechanics
/// (docs/original-behaviour.md, "Tools and their wire formats"): connect within 1 s, send `version` at once, one `\r\n`
/// request line at a time with a per-request timeout, and `quit` before closing.
public final class FlareConnection {
    public let endpoint: Endpoint
    public let peer: PeerKind
    public let requestTimeout: Double
    /// What the server answered to the opening `version`.
    public private(set) var serverVersion = ServerVersion(server: "flare", numbers: [0, 0, 0])
    private let stream: SocketStream

    public init(to endpoint: Endpoint, peer: PeerKind, connectTimeout: Double = 1, requestTimeout: Double = 10) throws {
        self.endpoint = endpoint
        self.peer = peer
        self.requestTimeout = requestTimeout
        do {
            stream = try SocketStream.connect(host: endpoint.host, port: endpoint.port, timeout: connectTimeout)
        } catch let failure as SocketFailure {
            throw ToolError.cannotConnect(peer, endpoint, reason: failure.reason)
        }
        serverVersion = ServerVersion(versionReply: try requestLine("version"))
    }

    deinit { stream.close() }

    public var isOpen: Bool { stream.isOpen }

    /// Sends a request and returns the single line that answers it (`version`, `incr`, `decr`).
    public func requestLine(_ line: String) throws -> String {
        let deadline = Deadline.after(seconds: requestTimeout)
        try send(line, data: nil, deadline: deadline)
        return try readLine(for: line, deadline: deadline)
    }

    /// Sends a request and applies the generic reply reader; `data` is the block of a storage command.
    public func request(_ line: String, data: [UInt8]? = nil) throws -> GenericReply {
        let deadline = Deadline.after(seconds: requestTimeout)
        try send(line, data: data, deadline: deadline)
        var payload: [String] = []
        while true {
            let reply = try readLine(for: line, deadline: deadline)
            switch ReplyTerminator.classify(reply) {
            case .success: return .success(payload: payload)
            case .failure: return .failure(line: reply)
            case nil: payload.append(reply)
            }
        }
    }

    /// Sends a request whose reply is never read (`noreply` forms).
    public func sendWithoutReply(_ line: String, data: [UInt8]? = nil) throws {
        try send(line, data: data, deadline: .after(seconds: requestTimeout))
    }

    /// The value parser: `VALUE` records until `END`. The original reads these streams without any
    /// timeout; here the request timeout bounds each wait for more bytes instead, so a long dump
    /// still completes while a server that stops sending is noticed.
    public func requestItems(_ line: String, onItem: (DumpedItem) throws -> Void) throws -> StreamEnd {
        try send(line, data: nil, deadline: .after(seconds: requestTimeout))
        while true {
            let reply = try readLine(for: line, deadline: .after(seconds: requestTimeout))
            let fields = reply.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let first = fields.first else { return .failed(line: reply) }
            if first == "END" { return .end }
            guard first == "VALUE", fields.count >= 2 else { return .failed(line: reply) }
            func field(_ index: Int) -> String { index < fields.count ? fields[index] : "0" }
            let length = max(0, RubyNumber.integer(field(3)))
            let data = try transfer(for: line) { try stream.readExactly(length, deadline: .after(seconds: requestTimeout)) }
            _ = try readLine(for: line, deadline: .after(seconds: requestTimeout))
            try onItem(DumpedItem(key: fields[1], flag: RubyNumber.integer(field(2)), length: length,
                                  version: RubyNumber.unsigned(field(4)), expire: RubyNumber.integer(field(5)), data: data))
        }
    }

    /// The key parser: `KEY <key>` lines until `END`.
    public func requestKeys(_ line: String, onKey: (String) throws -> Void) throws -> StreamEnd {
        try send(line, data: nil, deadline: .after(seconds: requestTimeout))
        while true {
            let reply = try readLine(for: line, deadline: .after(seconds: requestTimeout))
            let fields = reply.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first == "END" { return .end }
            guard fields.first == "KEY", fields.count >= 2 else { return .failed(line: reply) }
            try onKey(String(fields[1]))
        }
    }

    /// `quit`, then read until a terminator or EOF for at most 1 s, then close. flared closes
    /// without answering and flarei answers `END`; both are fine, and so is a dead peer.
    public func close() {
        guard stream.isOpen else { return }
        let deadline = Deadline.after(seconds: 1)
        do {
            try stream.write(Array("quit\r\n".utf8), deadline: deadline)
            while true {
                let line = String(decoding: try stream.readLine(deadline: deadline), as: UTF8.self)
                if ReplyTerminator.classify(line) != nil { break }
            }
        } catch {
            // EOF, timeout or a broken socket all just mean the session is over.
        }
        stream.close()
    }

    private func send(_ line: String, data: [UInt8]?, deadline: Deadline) throws {
        var bytes = Array(line.utf8) + [0x0D, 0x0A]
        if let data { bytes += data + [0x0D, 0x0A] }
        try transfer(for: line) { try stream.write(bytes, deadline: deadline) }
    }

    private func readLine(for request: String, deadline: Deadline) throws -> String {
        String(decoding: try transfer(for: request) { try stream.readLine(deadline: deadline) }, as: UTF8.self)
    }

    /// Maps socket failures to errors naming the peer and the request; after a timeout the
    /// connection is closed, as the original does, because the reply stream is out of step.
    private func transfer<T>(for request: String, _ step: () throws -> T) throws -> T {
        do {
            return try step()
        } catch let failure as SocketFailure {
            stream.close()
            if failure == .timedOut { throw ToolError.timedOut(peer, endpoint, request: request) }
            throw ToolError.connectionLost(peer, endpoint, request: request, reason: failure.reason)
        }
    }
}
