import Foundation

/// Runs seeds and reports the first failure with everything needed to replay it.
struct SimulationRunner {
    struct Failure {
        let seed: UInt64
        let violations: [Violation]
        let trace: [String]
        let design: SimDesign
        let events: Int

        var report: String {
            var text = "SIMULATION FAILURE, seed \(seed) (\(design))\n"
            for violation in violations { text += "  violated \(violation)\n" }
            text += "--- last \(trace.count) of \(events) trace lines ---\n"
            text += trace.joined(separator: "\n")
            text += "\n--- replay: FLARE_SIM_SEED=\(seed) swift test --skip-build --filter SimulationTests.SimulationTests/testReplay\n"
            return text
        }
    }

    var design = SimDesign.full
    var traceCapacity = 300

    /// One seed; nil if every invariant held.
    func run(seed: UInt64) -> Failure? {
        // Traces cost most of the time; a run is deterministic, so a failing seed is simply run
        // again with its trace on.
        let quiet = World(seed: seed, design: design, traceCapacity: 0)
        quiet.run()
        guard !quiet.check().isEmpty else { return nil }
        let world = World(seed: seed, design: design, traceCapacity: traceCapacity)
        world.run()
        let violations = world.check()
        return Failure(seed: seed, violations: violations, trace: world.trace.ordered, design: design, events: world.trace.total)
    }

    /// Seeds first..<first+count; stops at the first failure.
    func run(first: UInt64, count: UInt64) -> Failure? {
        for seed in first..<(first + count) {
            if let failure = run(seed: seed) { return failure }
        }
        return nil
    }

    static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name]
    }
}
