import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The flare tutorial on three hosts as written (scripts/tutorial-netns): network namespaces
/// mynode1-3 with their own addresses and /etc/hosts names, daemons started by the init script
/// from the shipped sample configurations, the tools run from a fourth namespace. The suite loads
/// 5,000 items of 10 KB (the script's default is the tutorial's 100,000, about 1 GB). With
/// FLARE_TOOLS_SRC pointing to a flare-tools source tree (and ruby installed) the original Ruby
/// tools drive the same steps. Needs root, as CI has.
final class TutorialNetnsTests: XCTestCase {
    func testTheTutorialOnThreeHosts() throws {
        guard getuid() == 0 else {
            throw XCTSkip("scripts/tutorial-netns needs root (network namespaces, /etc/netns): run the suite as root, as CI does")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/tutorial-netns")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tutorial-netns-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        let process = Process()
        // SIGTERM first: the script then stops its daemons and removes its namespaces.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-k", "30", "600", "/usr/bin/python3", script.path]
        var environment = ProcessInfo.processInfo.environment
        environment["BIN"] = Executables.directory.path
        environment["ITEMS"] = environment["TUTORIAL_NETNS_ITEMS"] ?? "5000"
        environment["VALUE_SIZE"] = "10000"
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? output.close()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        print(text)
        XCTAssertEqual(process.terminationStatus, 0, "scripts/tutorial-netns failed:\n\(text.suffix(6000))")
        XCTAssertTrue(text.contains(" passed, 0 failed"), String(text.suffix(3000)))
    }
}
