import XCTest

/// The deterministic cluster simulation (docs/simulation.md). `FLARE_SIM_SEEDS=<n>` runs n
/// seeds instead of the default; `FLARE_SIM_SEED=<n>` replays one seed with its full trace.
final class SimulationTests: XCTestCase {
    func testFullDesignHoldsOnManySeeds() {
        let count = SimulationRunner.environment("FLARE_SIM_SEEDS").flatMap { UInt64($0) } ?? 1000
        let first = SimulationRunner.environment("FLARE_SIM_FIRST").flatMap { UInt64($0) } ?? 1
        var runner = SimulationRunner()
        runner.design = SimDesign(off: SimulationRunner.environment("FLARE_SIM_OFF") ?? "")
        if SimulationRunner.environment("FLARE_SIM_SURVEY") != nil {
            // Every seed, not just up to the first failure: which invariants break, how often.
            let survey = runner.survey(first: first, count: count)
            print(survey.report)
            XCTAssertTrue(survey.failures.isEmpty, survey.report)
            return
        }
        for seed in first..<(first + count) {
            let failure = runner.run(seed: seed)
            if let known = Self.knownRealBugs[seed], runner.design.description == SimDesign.full.description {
                // A bug of the real logic (docs/simulation.md, "Found"): it must still show, so that
                // its fix is noticed and the seed moved back to the passing ones.
                XCTAssertTrue(failure?.violations.contains { $0.invariant == known } ?? false,
                              "seed \(seed) no longer violates \(known): remove it from knownRealBugs")
                continue
            }
            if let failure { XCTFail(failure.report) }
        }
    }

    /// Seeds of the first 1,000 that break an invariant through a bug of the real logic, not of
    /// the model (each explained in docs/simulation.md).
    static let knownRealBugs: [UInt64: String] = [:]

    /// Replays FLARE_SIM_SEED with the whole trace; without it, replays seed 1 quietly, which
    /// must pass like every seed of the normal run.
    func testReplay() {
        guard let seed = SimulationRunner.environment("FLARE_SIM_SEED").flatMap({ UInt64($0) }) else {
            XCTAssertNil(SimulationRunner().run(seed: 1))
            return
        }
        var runner = SimulationRunner()
        runner.traceCapacity = 1_000_000
        if let failure = runner.run(seed: seed) {
            XCTFail(failure.report)
        } else {
            let world = World(seed: seed, design: .full, traceCapacity: 1_000_000)
            world.run()
            print(world.trace.ordered.joined(separator: "\n"))
            print("seed \(seed): every invariant held")
        }
    }

    /// The same seed gives the same run: trace and history are identical.
    func testSameSeedSameRun() {
        let a = World(seed: 42, design: .full, traceCapacity: 100_000)
        a.run()
        let b = World(seed: 42, design: .full, traceCapacity: 100_000)
        b.run()
        XCTAssertEqual(a.trace.ordered, b.trace.ordered)
        XCTAssertGreaterThan(a.history.count, 50)
        XCTAssertGreaterThan(a.acks.count, 20)
    }

    /// Teeth: with a part of the design switched off, the simulation finds the violation it
    /// prevents within a bounded number of seeds.
    func testWithoutLeaseTwoNodesAcknowledge() {
        expectViolation(SimDesign(lease: false), within: 400, invariant: "single acknowledger")
    }

    /// The lease gap the grants close (seeds 73 and 504 of the design before them).
    func testWithoutGrantedLeasesTwoNodesAcknowledge() {
        expectViolation(SimDesign(leaseGrants: false), within: 600, invariant: "single acknowledger")
    }

    /// Seed 518 before SourceMapWait: a rejoining slave dumped its master before the master
    /// copied new writes to it, and missed the writes in between.
    func testWithoutWaitingForTheSourcesMapACopyMissesWrites() {
        expectViolation(SimDesign(dumpWaitsForSourceMap: false), within: 600, invariant: "replicas identical")
    }

    func testWithoutWaitingForSlavesSyncWritesAreLost() {
        expectViolation(SimDesign(syncWaitsForSlaves: false), within: 400, invariant: "no lost sync write")
    }

    /// With two slaves, a fail-over could leave the other slave with copies the promoted one never
    /// got; the index sends it back to prepare and NodeCore copies the partition afresh (both real
    /// code), so the copies end identical.
    func testTwoSlavesStayIdenticalAcrossFailOvers() {
        var runner = SimulationRunner()
        runner.design = SimDesign(slaves: 2)
        for seed in UInt64(1)...200 {
            if let failure = runner.run(seed: seed) { return XCTFail(failure.report) }
        }
    }

    private func expectViolation(_ design: SimDesign, within seeds: UInt64, invariant: String?) {
        var runner = SimulationRunner()
        runner.design = design
        for seed in 1...seeds {
            guard let failure = runner.run(seed: seed) else { continue }
            if let invariant, !failure.violations.contains(where: { $0.invariant == invariant }) { continue }
            print("\(design): seed \(seed) violates \(failure.violations[0])")
            return
        }
        XCTFail("\(design): no violation\(invariant.map { " of \($0)" } ?? "") in \(seeds) seeds")
    }
}
