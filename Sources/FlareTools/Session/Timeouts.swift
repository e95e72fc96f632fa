/// Connection timeouts of the original client: 1 s to connect, 10 s per request (`--timeout`).
public struct Timeouts: Equatable, Sendable {
    public var connect: Double
    public var request: Double

    public init(connect: Double = 1, request: Double = 10) {
        self.connect = connect
        self.request = request
    }
}
