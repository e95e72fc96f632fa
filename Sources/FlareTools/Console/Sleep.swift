#if canImport(Glibc)
import Glibc
#endif

public enum Sleep {
    /// Blocks the calling thread (the tools are single-threaded, blocking programs).
    public static func seconds(_ seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}
