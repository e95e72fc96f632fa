// libFuzzer entry point for flared's and flarei's command handlers (scripts/fuzz-handlers --libfuzzer;
// docs/fuzz-and-soak.md). Built only when FLARE_LIBFUZZER is set (Package.swift), with
// `-sanitize=fuzzer`: libFuzzer supplies `main`. FLARE_FUZZ_DAEMON chooses the daemon (node, the
// default, or index); the input format and the properties are OneInputHarness's.
#if canImport(Glibc)
import Glibc
#endif
import HandlerFuzzing

nonisolated(unsafe) private var harness: OneInputHarness?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if harness == nil {
        let daemon = getenv("FLARE_FUZZ_DAEMON").map { String(cString: $0) } ?? "node"
        do {
            harness = try OneInputHarness(daemon: daemon)
        } catch {
            fputs("cannot start the \(daemon) daemon: \(error)\n", stderr)
            exit(2)
        }
    }
    let input = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    if let finding = harness!.run(input) {
        fputs("\n\(finding)\n", stderr)
        fflush(stderr)
        abort()
    }
    return 0
}
