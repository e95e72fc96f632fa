import FlareCluster

/// `master hostname:port:balance:partition …`: turns proxies into masters of (new) partitions.
/// Per node, in partition order: confirmation; `flush_all` on the node unless
/// `--without-clean`; `node role … master B P` with retries; wait for `master/ready`; with
/// `--activate` (after confirmation) `node state … active`. Ends with the node table.
public struct MasterOperation {
    public var assignments: [NodeAssignment]
    public var force = false
    public var activate = false
    public var withoutClean = false
    public var retry = 10

    public init(assignments: [NodeAssignment], force: Bool = false, activate: Bool = false, withoutClean: Bool = false,
                retry: Int = 10) {
        self.assignments = assignments
        self.force = force
        self.activate = activate
        self.withoutClean = withoutClean
        self.retry = retry
    }

    public func run(_ session: ToolSession) throws -> ToolStatus {
        for assignment in assignments where assignment.balance <= 0 {
            throw ToolError.invalidArgument("invalid balance '\(assignment.address.key):\(assignment.balance):\(assignment.partition)'.")
        }
        let ordered = assignments.enumerated().sorted { ($0.element.partition, $0.offset) < ($1.element.partition, $1.offset) }.map(\.element)
        let console = session.console
        return try ConstructionWatch.run(session) { index, map, watch in
            var status = ToolStatus.success
            for assignment in ordered {
                let address = assignment.address, key = address.key
                guard let node = map[key] else {
                    console.note("unknown host: \(key)")
                    status = .failure
                    continue
                }
                var execute = force
                if !execute {
                    if node.isMaster {
                        console.say("no need to change the role of \(address.shown).")
                    } else if let existing = map.master(inPartition: assignment.partition) {
                        console.say("the partition already has a master \(existing.key).")
                    } else if !node.isProxy {
                        console.say("\(key) is not a proxy.")
                    } else {
                        // The original words this notice the wrong way round (it shows it only
                        // with --without-clean); it is shown when the node really is flushed.
                        let notice = ConstructionWatch.cleaningNotice(withoutClean: withoutClean)
                        execute = console.confirm("making the node master (node=\(address.shown), role=\(node.role) -> master)\(notice) (y/n): ")
                    }
                }
                guard execute, !session.dryRun else { continue }
                switch try watch.start(address, as: .master, balance: assignment.balance, partition: assignment.partition,
                                       withoutClean: withoutClean, attempts: retry,
                                       startedMessage: "started constructing the master node...") {
                case .started: break
                case .notCleaned: return .failure
                case .refused:
                    status = .failure
                    continue
                }
                let state = try watch.waitForMaster(key)
                guard NodeState(name: state) == .ready, activate else { continue }
                var confirmed = force
                if !confirmed {
                    let current = try index.statsNodes()[key]?.state ?? state
                    confirmed = console.confirm("changing node's state (node=\(address.shown), state=\(current) -> active) (y/n): ")
                }
                if confirmed, try !index.setState(host: address.host, port: address.port, state: NodeState.active.name).succeeded {
                    console.note("failed to activate \(key)")
                    status = .failure
                }
            }
            // The original skips the final table when something failed.
            guard status == .success else { return status }
            console.out.write(NodeListFormat.render(try index.statsNodes(), only: ordered.map(\.address.key)))
            return status
        }
    }
}
