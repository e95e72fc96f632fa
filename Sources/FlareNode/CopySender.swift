#if canImport(Glibc)
import Glibc
#endif

/// The node a worker last received copies from, kept so that accepting one master's stream of
/// copies allocates nothing and looks nothing up per copy: its node key as bytes (compared with
/// each copy's last hop) and as a string, and its copy floor in the view it was last checked under.
struct CopySender {
    private(set) var bytes: [UInt8] = []
    private(set) var key = ""
    private var floorView: ClusterView?
    private var floor: UInt64 = 0

    init() {}

    init(_ sender: UnsafeRawBufferPointer) {
        bytes = Array(sender)
        key = String(decoding: sender, as: UTF8.self)
    }

    func matches(_ sender: UnsafeRawBufferPointer) -> Bool {
        guard sender.count == bytes.count else { return false }
        guard let base = sender.baseAddress else { return true }
        return bytes.withUnsafeBytes { memcmp($0.baseAddress!, base, bytes.count) == 0 }
    }

    /// The sender's copy floor in `view` (CopyFloors), looked up once per view.
    mutating func floor(in view: ClusterView) -> UInt64 {
        if floorView !== view {
            floor = view.copyFloors.floor(for: key)
            floorView = view
        }
        return floor
    }
}
