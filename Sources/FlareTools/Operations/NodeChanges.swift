/// The course `down`, `activate` and `balance` share: every named node must be in `stats nodes`
/// (the first one missing ends the run with failure); each is changed after confirmation
/// unless `--force`, nothing is sent in a dry run, and the table of the named nodes closes
/// the output.
struct NodeChanges {
    let session: ToolSession
    let force: Bool
    /// `usage` of the missing-nodes error.
    let usage: String
    /// Noted, followed by the node key, for a named node `stats nodes` does not show.
    let unknownNodeNote: String

    /// `check` runs unless `--force`: it returns the confirmation prompt, or nil after telling
    /// the operator that the node needs no change. `change` sends the request (noting a
    /// failure itself) and says whether it succeeded.
    func run<Target>(_ targets: [Target], address: (Target) -> NodeAddress,
                     check: (Target, NodeStat) -> String?,
                     change: (FlareClient, Target, NodeStat) throws -> Bool) throws -> ToolStatus {
        let keys = targets.map { address($0).key }
        try keys.requireNodes(usage)
        let console = session.console
        return try session.withIndex { index in
            let map = try index.statsNodes()
            var status = ToolStatus.success
            for target in targets {
                guard let node = map[address(target).key] else {
                    console.note(unknownNodeNote + address(target).key)
                    return .failure
                }
                let execute = force || check(target, node).map(console.confirm) ?? false
                guard execute, !session.dryRun else { continue }
                if try !change(index, target, node) { status = .failure }
            }
            console.out.write(NodeListFormat.render(try index.statsNodes(), only: keys))
            return status
        }
    }
}
