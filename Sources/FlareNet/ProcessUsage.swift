#if canImport(Glibc)
import Glibc
#endif

/// CPU time of this process, as `stats` prints it.
public enum ProcessUsage {
    /// User and system time as `<sec>.<6-digit usec>`.
    public static func cpuTimes() -> (user: String, system: String) {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return (format(usage.ru_utime), format(usage.ru_stime))
    }

    static func format(_ tv: timeval) -> String {
        let micros = String(tv.tv_usec)
        return "\(tv.tv_sec)." + String(repeating: "0", count: max(0, 6 - micros.count)) + micros
    }
}
