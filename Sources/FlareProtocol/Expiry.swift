/// memcached's exptime rules, applied once at parse time so storage and replication only ever see
/// absolute times: 0 never expires, up to 30 days is relative to now, larger is a Unix time, and a
/// negative value means "already expired".
public enum Expiry {
    public static let relativeLimit: Int64 = 60 * 60 * 24 * 30

    @inline(__always)
    public static func absolute(_ exptime: Int64, now: Int64) -> Int64 {
        if exptime == 0 { return 0 }
        if exptime < 0 { return 1 }  // 1970-01-01 00:00:01: expired for any reader
        if exptime <= relativeLimit { return now + exptime }
        return exptime
    }
}
