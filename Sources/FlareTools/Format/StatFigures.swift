#if canImport(Glibc)
import Glibc
#endif

/// The derived figures of the `stats` table (docs/original-behaviour.md, "stats replies").
public enum StatFigures {
    /// Uptime as a short duration: seconds below a minute, then whole minutes, hours, days.
    /// The original's helper divides by 24 whenever the current figure is ≥ 24, so it shows 30
    /// seconds or 30 minutes as "1d"; that is a bug in its output and is not reproduced.
    public static func shortDuration(seconds: Int) -> String {
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" }
        if seconds < 86400 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }

    /// `get_hits / cmd_get` in whole percent (rounded half away from zero, like Ruby's
    /// `round`), `-` when `cmd_get` is missing or `0`.
    public static func hitRate(getHits: String?, commandGets: String?) -> String {
        guard let commandGets, commandGets != "0" else { return "-" }
        let gets = Double(RubyNumber.integer(commandGets)), hits = Double(RubyNumber.integer(getHits ?? ""))
        guard gets != 0 else { return "-" }
        return String(Int((hits / gets * 100).rounded(.toNearestOrAwayFromZero)))
    }

    /// `bytes` in whole GiB (rounded down), `-` when it is `0`.
    public static func sizeInGiB(bytes: String?) -> String {
        if bytes == "0" { return "-" }
        return String(RubyNumber.integer(bytes ?? "") / 1024 / 1024 / 1024)
    }

    /// A rate with one decimal, exactly like `sprintf("%.1f")` (C's rounding of the binary value).
    public static func oneDecimal(_ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, "%.1f", $0) }
        return String(nulTerminated: buffer)
    }
}
