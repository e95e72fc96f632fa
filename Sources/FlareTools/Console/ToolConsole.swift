/// The answers to confirmation prompts, one line each; nil when there is no more input.
public protocol AnswerSource: AnyObject {
    func nextAnswer() -> String?
}

/// The process's standard input.
public final class StandardInputAnswers: AnswerSource {
    public init() {}

    public func nextAnswer() -> String? { readLine(strippingNewline: true) }
}

/// A fixed list of answers (tests, scripted use); runs dry like a closed stdin.
public final class ScriptedAnswers: AnswerSource {
    private var answers: [String]

    public init(_ answers: [String]) {
        self.answers = answers
    }

    public func nextAnswer() -> String? { answers.isEmpty ? nil : answers.removeFirst() }
}

/// Everything a sub-command needs from its surroundings: output streams, prompt answers and a
/// way to wait (the flows sleep between polls and retries; tests pass a recorder instead).
public struct ToolConsole {
    public let out: TextSink
    public let err: TextSink
    public let answers: AnswerSource
    public let pause: (Double) -> Void

    public init(out: TextSink, err: TextSink, answers: AnswerSource, pause: @escaping (Double) -> Void) {
        self.out = out
        self.err = err
        self.answers = answers
        self.pause = pause
    }

    /// The real terminal: stdout, stderr, stdin and real sleeping.
    public static func standard() -> ToolConsole {
        ToolConsole(out: DescriptorSink.standardOutput(), err: DescriptorSink.standardError(),
                    answers: StandardInputAnswers(), pause: Sleep.seconds)
    }

    /// A line on stdout (Ruby `puts`).
    public func say(_ line: String) { out.write(line + "\n") }

    /// A line on stderr: progress, warnings and errors.
    public func note(_ line: String) { err.write(line + "\n") }

    /// Prints `prompt` on stderr and reads an answer; only `y`/`Y` means yes. No input (closed
    /// stdin) means no, where the original would crash.
    public func confirm(_ prompt: String) -> Bool {
        err.write(prompt)
        guard let answer = answers.nextAnswer() else {
            err.write("\n")
            return false
        }
        return answer.trimmingBlanks().uppercased() == "Y"
    }

    /// Prints `prompt` on stderr and returns the upper-cased answer, nil at end of input.
    public func ask(_ prompt: String) -> String? {
        err.write(prompt)
        guard let answer = answers.nextAnswer() else {
            err.write("\n")
            return nil
        }
        return answer.trimmingBlanks().uppercased()
    }
}

extension String {
    /// Ruby's `chomp` plus tolerance for stray blanks around a typed answer.
    func trimmingBlanks() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
