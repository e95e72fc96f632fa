import Foundation

/// One input at a time, as libFuzzer hands them (Tests/HandlerLibFuzzer): the first byte chooses the
/// peer the connection poses as (for flared: a client, or the index server whose pushes it obeys),
/// the rest is the request stream, sent on a fresh connection that the daemon's `Server` adopts.
///
/// Checked after every input: the replies are well framed (text lines, or binary packets when the
/// stream opens with 0x80) and the daemon closed the connection within the hang limit. Every
/// `sentinelEvery` inputs (and after any input that opened the binary protocol or took over 50 ms):
/// the daemon's open connections are back to the baseline, a fresh connection answers `version`,
/// and the target's invariant holds. Those checks cost about as much as an input, so they are
/// spaced; a violation found by them may come from any of the inputs since the last check, so the
/// last `sentinelEvery` inputs are kept and written out with the finding (`historyDirectory`).
/// Every `housekeepingEvery` inputs the target's housekeeping runs (flush the store, empty flarei's
/// map), as in the deterministic fuzzer; state otherwise carries over from input to input, as on a
/// real daemon.
public final class OneInputHarness {
    let fuzzer: HandlerFuzzer
    let baseline: Int
    var inputs = 0
    var history: [[UInt8]] = []
    public var sentinelEvery = 16
    public var housekeepingEvery = 512
    /// Where the inputs since the last passed check go when a check fails (nil: not written).
    public var historyDirectory: String?

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
        history.append(input)
        inputs += 1
        do {
            let started = Date()
            let reply = try fuzzer.exchange(stream, peer: peer)
            if let problem = fuzzer.framingProblem(reply, input: stream) {
                return HandlerFuzzer.Finding(property: problem, input: input, reply: reply)
            }
            if inputs % sentinelEvery == 0 || stream.first == 0x80 || Date().timeIntervalSince(started) > 0.05 {
                try fuzzer.checkInvariants(baseline: baseline, last: input)
                history.removeAll(keepingCapacity: true)
            }
        } catch let finding as HandlerFuzzer.Finding {
            saveHistory()
            return finding
        } catch {
            saveHistory()
            return HandlerFuzzer.Finding(property: "\(error)", input: input, reply: [])
        }
        if inputs % housekeepingEvery == 0 {
            target.housekeeping { [fuzzer] request in
                String(decoding: (try? fuzzer.exchange(Array(request.utf8), peer: target.peers[0])) ?? [], as: UTF8.self)
            }
        }
        return nil
    }

    private func saveHistory() {
        guard let directory = historyDirectory, history.count > 1 else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (number, input) in history.enumerated() {
            _ = FileManager.default.createFile(atPath: "\(directory)/\(String(format: "%03d", number))", contents: Data(input))
        }
        FileHandle.standardError.write(Data("the \(history.count) inputs since the last passed check, in order: \(directory)/\n".utf8))
    }
}
