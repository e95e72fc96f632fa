import XCTest
@testable import FlareCluster

/// flare.xml (docs/original-behaviour.md, "flare.xml" and "Recorded exchanges").
final class FlareXMLTests: XCTestCase {
    /// The recorded state (docs/original-behaviour.md, "Recorded exchanges").
    static let tutorialState = try! IndexState([
        "NODE 127.0.0.1 12121 1 0 0 1 16",
        "NODE 127.0.0.2 12122 0 0 0 1 18",
        "NODE 127.0.0.3 12123 0 0 1 1 17",
        "NODE 127.0.0.4 12124 1 0 1 1 19",
    ], version: 36, nextThreadType: 20)

    func testEncodeIsByteForByteTheOriginal() {
        let encoded = FlareXML.encode(Self.tutorialState)
        XCTAssertEqual(Array(encoded.utf8), Array(FlareXMLFixtures.afterTutorial.utf8))
    }

    func testDecodeTheOriginal() throws {
        XCTAssertEqual(try FlareXML.decode(FlareXMLFixtures.afterTutorial), Self.tutorialState)
    }

    func testRoundTrip() throws {
        let states = [
            IndexState(),
            Self.tutorialState,
            try IndexState(["NODE a&b<c>'\" 0 0 2 5 3 16", "NODE ü 65535 2 3 -1 0 41"], version: .max, nextThreadType: 100),
        ]
        for state in states {
            XCTAssertEqual(try FlareXML.decode(FlareXML.encode(state)), state)
        }
    }

    func testEmptyMapLayout() {
        // Boost writes count and item_version even with no item.
        XCTAssertEqual(FlareXML.encode(IndexState(version: 3)), """
            <?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
            <!DOCTYPE boost_serialization>
            <boost_serialization signature="serialization::archive" version="18">
            <version>3</version>
            <node_map class_id="0" tracking_level="0" version="0">
            \t<count>0</count>
            \t<item_version>0</item_version>
            </node_map>
            <thread_type>16</thread_type>
            </boost_serialization>


            """)
    }

    func testNamesAreEscaped() {
        let state = try! IndexState(["NODE a&b<c> 1 2 0 -1 0 16"])
        let encoded = FlareXML.encode(state)
        XCTAssertTrue(encoded.contains("<first>a&amp;b&lt;c&gt;:1</first>"))
        XCTAssertTrue(encoded.contains("<node_server_name>a&amp;b&lt;c&gt;</node_server_name>"))
    }

    func testDecodeWithoutVersionIsVersionZero() throws {
        let old = FlareXMLFixtures.afterTutorial.replacingOccurrences(of: "<version>36</version>\n", with: "")
        var expected = Self.tutorialState
        expected.version = 0
        XCTAssertEqual(try FlareXML.decode(old), expected)
    }

    func testDecodeAcceptsLayoutVariants() throws {
        // Another Boost archive version, no indentation, whitespace around numbers, comments,
        // fields in any order, no item_version (older Boost), class attributes on every item,
        // character references.
        let text = """
            <?xml version="1.0"?><!DOCTYPE boost_serialization>
            <!-- written by hand -->
            <boost_serialization signature="serialization::archive" version="9"><version> 2 </version>
            <node_map class_id="0" tracking_level="0" version="0"><count>2</count>
            <item class_id="1" tracking_level="0" version="0"><first>h&#x41;:1</first><second class_id="2" tracking_level="0" version="0">
            <node_server_name>h&#65;</node_server_name><node_server_port>1</node_server_port><node_role>2</node_role>
            <node_state>2</node_state><node_partition>-1</node_partition><node_balance>0</node_balance><node_thread_type>
            17
            </node_thread_type></second></item>
            <item><second><node_thread_type>16</node_thread_type><node_balance>1</node_balance><node_partition>0</node_partition>
            <node_state>0</node_state><node_role>0</node_role><node_server_port>2</node_server_port><node_server_name>m</node_server_name>
            </second><first>m:2</first></item></node_map><thread_type>18</thread_type></boost_serialization>
            """
        XCTAssertEqual(try FlareXML.decode(text), try IndexState(["NODE hA 1 2 2 -1 0 17", "NODE m 2 0 0 0 1 16"], version: 2, nextThreadType: 18))
    }

    func testEmptyTextIsANewIndex() throws {
        XCTAssertEqual(try FlareXML.decode(""), IndexState())
    }

    // MARK: Malformed files

    /// The tutorial file with one substitution, and the error it must give.
    struct Broken {
        let title: String
        let replace: String
        let with: String
        let error: FlareXMLError
        let line: UInt

        init(_ title: String, _ replace: String, _ with: String, _ error: FlareXMLError, line: UInt = #line) {
            self.title = title
            self.replace = replace
            self.with = with
            self.error = error
            self.line = line
        }
    }

    static let item2 = "/boost_serialization/node_map/item[2]"

    static let broken: [Broken] = [
        Broken("unclosed element", "</node_map>", "", .notWellFormed(line: 58, reason: "</boost_serialization> closes <node_map>")),
        Broken("mismatched end tag", "<node_role>0</node_role>", "<node_role>0</node_rol>",
               .notWellFormed(line: 25, reason: "</node_rol> closes <node_role>")),
        Broken("unknown entity", ">127.0.0.2<", ">127&nbsp;<", .notWellFormed(line: 23, reason: "unknown entity &nbsp; in text of <node_server_name>")),
        Broken("truncated", "<thread_type>20</thread_type>\n</boost_serialization>\n\n", "<thread_type>20</thr",
               .notWellFormed(line: 57, reason: "malformed end tag </thr>")),
        Broken("garbage after the root", "</boost_serialization>\n", "</boost_serialization>\n<x/>",
               .notWellFormed(line: 59, reason: "content after the root element </boost_serialization>")),
        Broken("another root", "<boost_serialization signature", "<flare signature",
               .notWellFormed(line: 58, reason: "</boost_serialization> closes <flare>")),
        Broken("node_map renamed", "node_map", "nodes", .unexpectedElement(path: "/boost_serialization/nodes")),
        Broken("missing thread_type", "<thread_type>20</thread_type>\n", "", .missingElement(path: "/boost_serialization/thread_type")),
        Broken("missing count", "\t<count>4</count>\n", "", .missingElement(path: "/boost_serialization/node_map/count")),
        Broken("missing field", "<node_role>0</node_role>", "", .missingElement(path: "\(item2)/second/node_role")),
        Broken("missing first", "<first>127.0.0.2:12122</first>", "", .missingElement(path: "\(item2)/first")),
        Broken("unknown field", "<node_role>0</node_role>", "<node_role>0</node_role><node_weight>1</node_weight>",
               .unexpectedElement(path: "\(item2)/second/node_weight")),
        Broken("repeated field", "<node_role>0</node_role>", "<node_role>0</node_role><node_role>0</node_role>",
               .unexpectedElement(path: "\(item2)/second/node_role")),
        Broken("element inside a value", "<node_role>0</node_role>", "<node_role><x/></node_role>",
               .unexpectedElement(path: "\(item2)/second/node_role/x")),
        Broken("text among elements", "<second>\n\t\t\t<node_server_name>127.0.0.2", "<second>junk<node_server_name>127.0.0.2",
               .unexpectedText(path: "\(item2)/second", text: "junk")),
        Broken("port not a number", "<node_server_port>12122<", "<node_server_port>12a<",
               .invalidValue(path: "\(item2)/second/node_server_port", value: "12a", expected: "an integer")),
        Broken("port out of range", "<node_server_port>12122<", "<node_server_port>70000<",
               .invalidValue(path: "\(item2)/second/node_server_port", value: "70000", expected: "a port 0…65535")),
        Broken("unknown role", "<node_role>0</node_role>", "<node_role>7</node_role>",
               .invalidValue(path: "\(item2)/second/node_role", value: "7", expected: "0 (master), 1 (slave) or 2 (proxy)")),
        Broken("unknown state", "<node_state>0</node_state>", "<node_state>9</node_state>",
               .invalidValue(path: "/boost_serialization/node_map/item[1]/second/node_state", value: "9",
                             expected: "0 (active), 1 (prepare), 2 (down) or 3 (ready)")),
        Broken("negative version", "<version>36</version>", "<version>-1</version>",
               .invalidValue(path: "/boost_serialization/version", value: "-1", expected: "an unsigned 64-bit integer")),
        Broken("int overflow", "<thread_type>20<", "<thread_type>2147483648<",
               .invalidValue(path: "/boost_serialization/thread_type", value: "2147483648", expected: "an integer")),
        Broken("count disagrees", "<count>4</count>", "<count>5</count>", .countMismatch(declared: 5, found: 4)),
        Broken("key disagrees", "<first>127.0.0.2:12122</first>", "<first>127.0.0.2:12123</first>",
               .keyMismatch(path: "\(item2)/first", key: "127.0.0.2:12123", nodeKey: "127.0.0.2:12122")),
        Broken("duplicate node", "<first>127.0.0.2:12122</first>\n\t\t<second>\n\t\t\t<node_server_name>127.0.0.2</node_server_name>\n\t\t\t<node_server_port>12122",
               "<first>127.0.0.1:12121</first>\n\t\t<second>\n\t\t\t<node_server_name>127.0.0.1</node_server_name>\n\t\t\t<node_server_port>12121",
               .duplicateNode("127.0.0.1:12121")),
        // Sanity check: the next thread type must be above every node's.
        Broken("thread type equal to the next one", "<thread_type>20<", "<thread_type>19<",
               .threadTypeNotBelowNext(nodeKey: "127.0.0.4:12124", threadType: 19, next: 19)),
        Broken("thread type above the next one", "<thread_type>20<", "<thread_type>16<",
               .threadTypeNotBelowNext(nodeKey: "127.0.0.1:12121", threadType: 16, next: 16)),
    ]

    func testMalformedFiles() {
        for file in Self.broken {
            let text = FlareXMLFixtures.afterTutorial.replacingOccurrences(of: file.replace, with: file.with)
            XCTAssertNotEqual(text, FlareXMLFixtures.afterTutorial, "\(file.title): the substitution applies", line: file.line)
            do {
                let state = try FlareXML.decode(text)
                XCTFail("\(file.title): decoded \(state)", line: file.line)
            } catch {
                XCTAssertEqual(error, file.error, file.title, line: file.line)
            }
        }
    }

    func testErrorMessagesNameTheElement() {
        XCTAssertEqual(
            FlareXMLError.threadTypeNotBelowNext(nodeKey: "127.0.0.4:12124", threadType: 19, next: 19).description,
            "flare.xml node 127.0.0.4:12124 has thread_type 19, not below the next thread_type 19")
        XCTAssertEqual(
            FlareXMLError.missingElement(path: "/boost_serialization/node_map/item[2]/second/node_role").description,
            "flare.xml has no /boost_serialization/node_map/item[2]/second/node_role")
        XCTAssertEqual(
            FlareXMLError.invalidValue(path: "/boost_serialization/thread_type", value: "x", expected: "an integer").description,
            "flare.xml /boost_serialization/thread_type is \"x\", expected an integer")
        XCTAssertEqual(
            FlareXMLError.notWellFormed(line: 3, reason: "<a> is not closed").description,
            "flare.xml is not well-formed XML (line 3): <a> is not closed")
    }

    func testNotAnArchiveAndBadProlog() {
        XCTAssertThrowsError(try FlareXML.decode("<?xml version=\"1.0\"?>\n<flare/>\n")) { error in
            XCTAssertEqual(error as? FlareXMLError, .notAnArchive(root: "flare"))
        }
        XCTAssertThrowsError(try FlareXML.decode("not xml")) { error in
            XCTAssertEqual(error as? FlareXMLError, .notWellFormed(line: 1, reason: "expected the root element"))
        }
        XCTAssertThrowsError(try FlareXML.decode(" \n")) { error in
            XCTAssertEqual(error as? FlareXMLError, .notWellFormed(line: 2, reason: "expected the root element"))
        }
    }
}
