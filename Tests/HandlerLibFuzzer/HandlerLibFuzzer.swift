// libFuzzer entry point for flared's and flarei's command handlers (scripts/fuzz-handlers --libfuzzer;
// docs/fuzz-and-soak.md). Built only when FLARE_LIBFUZZER is set (Package.swift), with
// `-sanitize=fuzzer`: libFuzzer supplies `main`. FLARE_FUZZ_DAEMON chooses the daemon (node, the
// default, or index); the input format and the properties are OneInputHarness's.
import Foundation
import HandlerFuzzing

nonisolated(unsafe) private var harness: OneInputHarness?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if harness == nil {
        let daemon = getenv("FLARE_FUZZ_DAEMON").map { String(cString: $0) } ?? "node"
        do {
            let created = try OneInputHarness(daemon: daemon)
            if let every = getenv("FLARE_FUZZ_CHECK_EVERY").flatMap({ Int(String(cString: $0)) }), every > 0 { created.sentinelEvery = every }
            created.historyDirectory = getenv("FLARE_FUZZ_HISTORY").map { String(cString: $0) }
            harness = created
        } catch {
            FileHandle.standardError.write(Data("cannot start the \(daemon) daemon: \(error)\n".utf8))
            exit(2)
        }
    }
    let input = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    if let finding = harness!.run(input) {
        FileHandle.standardError.write(Data("\n\(finding)\n".utf8))
        abort()
    }
    return 0
}

// SwiftPM links an executable target with `main` defined as `<module>_main`, which would hide
// libFuzzer's own `main`: this one hands over to libFuzzer's driver, as libFuzzer's `main` does.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("flare_handler_fuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput)
}
