import XCTest
@testable import FlareCluster

extension IndexState {
    /// A state holding the nodes of these `NODE` lines; the next thread type defaults to one
    /// past the greatest in use, as the original would have it.
    init(_ lines: [String], version: UInt64 = 0, nextThreadType: Int? = nil) throws {
        let map = try NodeMap(nodeLines: lines)
        let next = nextThreadType ?? ((map.entries.map(\.threadType).max() ?? 15) + 1)
        self.init(map: map, version: version, nextThreadType: next)
    }

    /// The map as `NODE` lines, node-key order, without terminators.
    var lines: [String] { map.entries.map(\.nodeLine) }
}

/// The `NODE` lines of `base` with the lines of the same nodes in `changes` substituted (and
/// new nodes added), in node-key order: "the map after" written as a difference.
func lines(_ base: [String], replacing changes: [String]) throws -> [String] {
    var map = try NodeMap(nodeLines: base)
    for node in try NodeMap(nodeLines: changes).entries { map.upsert(node) }
    return map.entries.map(\.nodeLine)
}

/// Asserts that `operation` fails and leaves the state exactly as it was.
func assertRefused(
    _ state: IndexState, _ description: String,
    file: StaticString = #filePath, line: UInt = #line,
    _ operation: (inout IndexState) throws(IndexCommandError) -> IndexChange
) {
    var copy = state
    do {
        let change = try operation(&copy)
        XCTFail("\(description): expected a refusal, got \(change) and map \(copy.lines)", file: file, line: line)
    } catch {
        XCTAssertFalse(error.reason.isEmpty, "\(description): the refusal gives a reason", file: file, line: line)
    }
    XCTAssertEqual(copy, state, "\(description): a refusal changes nothing", file: file, line: line)
}
