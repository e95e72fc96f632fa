/// The lines printed on stderr every second while a node is being built (common.rb's
/// wait_for_slave_construction / wait_for_master_construction).
public enum ConstructionProgress {
    /// `<slave items>/<master items> (role = r, state = s) [ETA: <n|n/a> sec (elapsed = <n> sec)]`.
    /// ETA = remaining items at the average copy rate so far, truncated toward zero.
    public static func slaveLine(slaveItems: Int, masterItems: Int, role: String, state: String, elapsed: Double) -> String {
        var eta = "n/a"
        if elapsed > 0 && slaveItems > 0 {
            let rate = Double(slaveItems) / elapsed
            eta = String(Int((Double(masterItems - slaveItems) / rate).rounded(.towardZero)))
        }
        return "\(slaveItems)/\(masterItems) (role = \(role), state = \(state)) [ETA: \(eta) sec (elapsed = \(Int(elapsed)) sec)]"
    }

    /// `<master items> (role = r, state = s) [ETA: n/a sec (elapsed = <n> sec)]`: a new master
    /// copies from several sources, so the original gives no estimate.
    public static func masterLine(masterItems: Int, role: String, state: String, elapsed: Double) -> String {
        "\(masterItems) (role = \(role), state = \(state)) [ETA: n/a sec (elapsed = \(Int(elapsed)) sec)]"
    }
}
