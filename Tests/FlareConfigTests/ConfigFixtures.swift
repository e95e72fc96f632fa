import Foundation
import XCTest
@testable import FlareConfig

/// Temporary config files for one test; removed when the test ends.
final class ConfigFixtures {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("flare-config-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes `contents` to a file called `name` and returns its path.
    func file(named name: String = "flared.conf", _ contents: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Replaces the contents of an existing file, e.g. before a reload.
    func rewrite(_ path: String, _ contents: String) throws {
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Minimal valid flared arguments besides the ones a test is about.
let nodeBasics = ["--data-dir", "/tmp/flare-node", "--index-server-name", "index.example"]

func parseNode(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> NodeSettings {
    guard case let .run(settings) = try DaemonCommandLine.parseNode(arguments: arguments) else {
        XCTFail("expected settings for \(arguments)", file: file, line: line)
        throw ConfigError.invalidCommandLine(message: "test expected settings")
    }
    return settings
}

func parseIndex(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> IndexSettings {
    guard case let .run(settings) = try DaemonCommandLine.parseIndex(arguments: arguments) else {
        XCTFail("expected settings for \(arguments)", file: file, line: line)
        throw ConfigError.invalidCommandLine(message: "test expected settings")
    }
    return settings
}

/// The one-line message parsing `arguments` as flared fails with.
func nodeError(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> String? {
    do {
        _ = try DaemonCommandLine.parseNode(arguments: arguments)
        XCTFail("expected an error for \(arguments)", file: file, line: line)
        return nil
    } catch {
        return error.description
    }
}

/// The one-line message parsing `arguments` as flarei fails with.
func indexError(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> String? {
    do {
        _ = try DaemonCommandLine.parseIndex(arguments: arguments)
        XCTFail("expected an error for \(arguments)", file: file, line: line)
        return nil
    } catch {
        return error.description
    }
}
