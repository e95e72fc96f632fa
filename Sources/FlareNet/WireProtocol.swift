/// Which protocol a client connection speaks. memcached decides by the connection's first byte
/// (0x80, the binary request magic), once: later bytes never switch it.
public enum WireProtocol: Sendable {
    case undecided, text, binary
}
