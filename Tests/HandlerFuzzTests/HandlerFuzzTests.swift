import Foundation
import XCTest
import HandlerFuzzing

/// The handler fuzzer (HandlerFuzzer) against flared's and flarei's real command handlers, in this
/// process (targets: DaemonTargets). A short run here, after the whole regression corpus
/// (`Tests/FuzzCorpus/handlers`, every input as each peer); `scripts/fuzz-handlers <inputs>` runs
/// the same with many more (`FLARE_FUZZ_INPUTS`, `FLARE_FUZZ_SEED`).
final class HandlerFuzzTests: XCTestCase {
    static let environment = ProcessInfo.processInfo.environment
    static let seed = UInt64(environment["FLARE_FUZZ_SEED"] ?? "") ?? 20_261_205

    static func inputs(default value: Int) -> Int { Int(environment["FLARE_FUZZ_INPUTS"] ?? "") ?? value }

    override class func tearDown() {
        DaemonTargets.removeScratch()
        super.tearDown()
    }

    func fuzz(_ target: HandlerFuzzer.Target, corpus: String, inputs: Int) {
        let seeds = HandlerFuzzer.corpus(at: DaemonTargets.corpusRoot.appendingPathComponent(corpus))
        XCTAssertFalse(seeds.isEmpty, "no regression corpus in \(DaemonTargets.corpusRoot.path)/\(corpus)")
        var fuzzer = HandlerFuzzer(target: target, seed: Self.seed, corpus: seeds)
        do {
            let summary = try fuzzer.run(inputs: inputs)
            print("[HandlerFuzzTests] \(target.name), seed \(Self.seed): \(summary)")
            XCTAssertEqual(summary.byOrigin["corpus"], seeds.count * target.peers.count)
        } catch let finding as HandlerFuzzer.Finding {
            XCTFail("\(finding)")
        } catch {
            XCTFail("\(error)")
        }
    }

    func testNodeHandlers() throws {
        fuzz(try DaemonTargets.node(), corpus: "node", inputs: Self.inputs(default: 4000))
    }

    func testIndexHandlers() throws {
        fuzz(try DaemonTargets.index(), corpus: "index", inputs: Self.inputs(default: 1500))
    }
}
