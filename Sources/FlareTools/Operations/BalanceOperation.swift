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
        try assignments.map(\.address.key).requireNodes("balance [hostname:port:balance] ...")
        let console = session.console
        return try session.withIndex { index in
            let map = try index.statsNodes()
            var status = ToolStatus.success
            for assignment in assignments {
                let address = assignment.address
                guard let node = map[address.key] else {
                    console.note("unknown host: \(address.key)")
                    return .failure
                }
                var execute = force
                if !execute {
                    if node.balance == assignment.balance {
                        console.say("no need to change the balance of \(address.shown).")
                    } else {
                        execute = console.confirm("updating node balance (node=\(address.shown), balance=\(node.balanceText) -> \(assignment.balance)) (y/n): ")
                    }
                }
                guard execute, !session.dryRun else { continue }
                if case .failure(let line) = try index.setRole(host: address.host, port: address.port, role: node.role,
                                                              balance: assignment.balance, partition: node.partition) {
                    console.note("failed to set the balance of \(address.key): \(line)")
                    status = .failure
                }
            }
            console.out.write(NodeListFormat.render(try index.statsNodes(), only: assignments.map(\.address.key)))
            return status
        }
    }
}
