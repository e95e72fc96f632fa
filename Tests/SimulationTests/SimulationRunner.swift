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

    struct Survey {
        var failures: [(seed: UInt64, violations: [Violation])] = []
        var seeds: UInt64 = 0

        var report: String {
            var byInvariant: [String: [UInt64]] = [:]
            for failure in failures {
                for invariant in Set(failure.violations.map(\.invariant)) { byInvariant[invariant, default: []].append(failure.seed) }
            }
            var text = "\(failures.count) of \(seeds) seeds violate an invariant\n"
            for (invariant, seeds) in byInvariant.sorted(by: { $0.key < $1.key }) {
                text += "  \(invariant): \(seeds.count) seeds, first \(seeds.prefix(8).map(String.init).joined(separator: ", "))\n"
            }
            return text
        }
    }

    /// Runs every seed quietly and collects what broke.
    func survey(first: UInt64, count: UInt64) -> Survey {
        var survey = Survey()
        for seed in first..<(first + count) {
            let world = World(seed: seed, design: design, traceCapacity: 0)
            world.run()
            let violations = world.check()
            if !violations.isEmpty { survey.failures.append((seed, violations)) }
            survey.seeds += 1
        }
        return survey
    }

    static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name]
    }
}
