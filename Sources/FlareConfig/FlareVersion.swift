/// The version this implementation reports.
///
/// The number is the original flare's on purpose: flare-tools compares it to
/// decide which commands a server understands, so reporting our own numbering
/// would make the unmodified tools refuse to talk to us.
public enum FlareVersion {
    /// Package name, as printed by `-v` and in `VERSION flare-1.3.4`.
    public static let packageName = "flare"
    /// Version number without the package name.
    public static let string = "1.3.4"
    /// What `flarei -v` / `flared -v` print: package name, space, version.
    public static let banner = "\(packageName) \(string)"
}
