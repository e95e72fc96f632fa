/// Why a `ModularResolver` cannot be built from the given parameters.
public enum ModularResolverError: Error, Equatable, Sendable, CustomStringConvertible {
    /// partition-size must allow at least one partition count (P ≥ 2) and fit a C `int`.
    case invalidPartitionSize(Int)
    /// partition-modular-hint must be ≥ 1: the original has no row 0 to derive row 1 from.
    case invalidHint(Int)
    /// partition-modular-virtual must be ≥ 1 and fit a C `int`.
    case invalidVirtual(Int)

    public var description: String {
        switch self {
        case .invalidPartitionSize(let value):
            return "partition-size \(value) is invalid: it must be between 2 and \(Int32.max)"
        case .invalidHint(let value):
            return "partition-modular-hint \(value) is invalid: it must be between 1 and \(Int32.max)"
        case .invalidVirtual(let value):
            return "partition-modular-virtual \(value) is invalid: it must be between 1 and \(Int32.max)"
        }
    }
}
