import Foundation

/// One input at a time, as libFuzzer hands them (Tests/HandlerLibFuzzer): the first byte chooses the
/// peer the connection poses as (for flared: a client, or the index server whose pushes it obeys),
/// the rest is the request stream, sent on a fresh connection that the daemon's `Server` adopts.
/// Checked after every input, so that a finding is the input that caused it: the replies are well
/// framed, the daemon closed within the hang limit, its open connections are back to the baseline,
/// a fresh connection answers `version`, and the target's invariant holds. Every `housekeepingEvery`
/// inputs the target's housekeeping runs (flush the store, empty flarei's map), as in the
/// deterministic fuzzer; state otherwise carries over from input to input, as on a real daemon.
public final class OneInputHarness {
    let fuzzer: HandlerFuzzer
    let baseline: Int
    var inputs = 0
    public var housekeepingEvery = 500

    /// `daemon`: "node" (flared) or "index" (flarei).
    public init(daemon: String) throws {
        let target: HandlerFuzzer.Target
        switch daemon {
        case "node": target = try DaemonTargets.node()
        case "index": target = try DaemonTargets.index()
        default: throw HandlerFuzzer.Finding(property: "unknown daemon \"\(daemon)\" (node or index)", input: [], reply: [])
        }
        var fuzzer = HandlerFuzzer(target: target, seed: 0, corpus: [])
        // Below libFuzzer's -timeout, so that a hang is reported with the reply received so far.
        fuzzer.hangSeconds = 8
        self.fuzzer = fuzzer
        baseline = target.server.currentConnections
    }

    /// Runs one input; returns the violated property, if any.
    public func run(_ input: [UInt8]) -> HandlerFuzzer.Finding? {
        guard let first = input.first else { return nil }
        let target = fuzzer.target
        let peer = target.peers[Int(first) % target.peers.count]
        let stream = target.sanitize(Array(input.dropFirst()))
        do {
            let reply = try fuzzer.exchange(stream, peer: peer)
            if let problem = fuzzer.framingProblem(reply) {
                return HandlerFuzzer.Finding(property: problem, input: input, reply: reply)
            }
            try fuzzer.checkInvariants(baseline: baseline, last: input)
        } catch let finding as HandlerFuzzer.Finding {
            return finding
        } catch {
            return HandlerFuzzer.Finding(property: "\(error)", input: input, reply: [])
        }
        inputs += 1
        if inputs % housekeepingEvery == 0 {
            target.housekeeping { [fuzzer] request in
                String(decoding: (try? fuzzer.exchange(Array(request.utf8), peer: target.peers[0])) ?? [], as: UTF8.self)
            }
        }
        return nil
    }
}
