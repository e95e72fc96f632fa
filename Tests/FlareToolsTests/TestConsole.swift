@testable import FlareTools

/// A console whose output, error stream, answers and pauses a test can inspect.
final class TestConsole {
    let out = CapturedText()
    let err = CapturedText()
    let pauses = PauseLog()
    let console: ToolConsole

    init(answers: [String] = []) {
        let pauses = self.pauses
        console = ToolConsole(out: out, err: err, answers: ScriptedAnswers(answers), pause: { pauses.add($0) })
    }

    func session(index: FakeFlareServer, dryRun: Bool = false, requestTimeout: Double = 5) -> ToolSession {
        ToolSession(indexServer: Endpoint(host: "127.0.0.1", port: index.port), timeouts: Timeouts(connect: 1, request: requestTimeout),
                    dryRun: dryRun, console: console)
    }
}

/// The pauses a flow asked for, in seconds (tests never really sleep).
final class PauseLog: @unchecked Sendable {
    private(set) var seconds: [Double] = []

    func add(_ value: Double) { seconds.append(value) }
}
