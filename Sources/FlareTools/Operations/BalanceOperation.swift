/// `balance hostname:port:balance …`: `node role <host> <port> <current role> <balance>
/// <current partition>`, role and partition taken from `stats nodes`.
public struct BalanceOperation {
    public var assignments: [BalanceAssignment]
    public var force = false

    public init(assignments: [BalanceAssignment], force: Bool = false) {
        self.assignments = assignments
        self.force = force
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let console = session.console
        let changes = NodeChanges(session: session, force: force, usage: "balance [hostname:port:balance] ...",
                                  unknownNodeNote: "unknown host: ")
        return try changes.run(assignments, address: \.address) { assignment, node in
            guard node.balance != assignment.balance else {
                console.say("no need to change the balance of \(assignment.address.shown).")
                return nil
            }
            return "updating node balance (node=\(assignment.address.shown), balance=\(node.balanceText) -> \(assignment.balance)) (y/n): "
        } change: { index, assignment, node in
            let address = assignment.address
            guard case .failure(let line) = try index.setRole(host: address.host, port: address.port, role: node.role,
                                                              balance: assignment.balance, partition: node.partition) else { return true }
            console.note("failed to set the balance of \(address.key): \(line)")
            return false
        }
    }
}
