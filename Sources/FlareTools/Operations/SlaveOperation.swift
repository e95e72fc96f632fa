import FlareCluster

/// `slave hostname:port:balance:partition …`: builds slaves from proxies. Per proxy:
/// confirmation; `flush_all` unless `--without-clean`; `node role … slave 0 P` with retries;
/// progress until `slave/active`; then (after confirmation) `node role … slave B P` when B > 0.
public struct SlaveOperation {
    public var assignments: [NodeAssignment]
    public var force = false
    public var withoutClean = false
    public var retry = 10

    public init(assignments: [NodeAssignment], force: Bool = false, withoutClean: Bool = false, retry: Int = 10) {
        self.assignments = assignments
        self.force = force
        self.withoutClean = withoutClean
        self.retry = retry
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        let console = session.console
        return try ConstructionWatch.run(session) { index, map, watch in
            var status = ToolStatus.success
            for assignment in assignments {
                let address = assignment.address, key = address.key
                guard let node = map[key] else {
                    console.note("invalid 'hostname:port' pair: \(key)")
                    return .failure
                }
                guard node.isProxy else {
                    console.say("\(key) is not a proxy.")
                    continue
                }
                let notice = ConstructionWatch.cleaningNotice(withoutClean: withoutClean)
                let execute = force || console.confirm("making node slave (node=\(key), role=\(node.role) -> slave)\(notice) (y/n): ")
                guard execute, !session.dryRun else { continue }
                // A slave is always built with balance 0 so that it serves no reads while copying.
                guard try watch.start(address, as: .slave, balance: 0, partition: assignment.partition, withoutClean: withoutClean,
                                      attempts: retry, startedMessage: "started constructing slave node...") == .started else {
                    return .failure
                }
                try watch.waitForSlave(key)
                guard assignment.balance > 0 else { continue }
                let confirmed = force || console.confirm("changing node's balance (node=\(key), balance=0 -> \(assignment.balance)) (y/n): ")
                if confirmed, try !index.setRole(host: address.host, port: address.port, role: NodeRole.slave.name,
                                                 balance: assignment.balance, partition: assignment.partition).succeeded {
                    console.note("failed to set the balance of \(key)")
                    status = .failure
                }
            }
            console.out.write(NodeListFormat.render(try index.statsNodes(), only: assignments.map(\.address.key)))
            return status
        }
    }
}
