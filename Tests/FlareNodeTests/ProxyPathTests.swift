@testable import FlareNode
import XCTest

/// The proxy prefix: who sent a request, and whether it is a stamped copy.
final class ProxyPathTests: XCTestCase {
    private func lastHop(_ path: String) -> (String, UInt64?) {
        Array(path.utf8).withUnsafeBytes { raw in
            let (node, stamp) = ProxyPath.lastHop(raw)
            return (String(decoding: node, as: UTF8.self), stamp)
        }
    }

    private func count(_ node: String, _ path: String) -> Int {
        Array(path.utf8).withUnsafeBytes { ProxyPath.count(of: node, in: $0) }
    }

    func testLastHopAndStamp() {
        XCTAssertEqual(lastHop("10.0.0.1:12121").0, "10.0.0.1:12121")
        XCTAssertNil(lastHop("10.0.0.1:12121").1, "a forwarded write carries no stamp")
        XCTAssertEqual(lastHop("10.0.0.1:12121@42").0, "10.0.0.1:12121")
        XCTAssertEqual(lastHop("10.0.0.1:12121@42").1, 42)
        XCTAssertEqual(lastHop("p:1,m:2@7").0, "m:2")
        XCTAssertEqual(lastHop("p:1,m:2@7").1, 7)
        XCTAssertEqual(lastHop("m:2@7,n:3").1, nil, "only the last hop's stamp counts")
        XCTAssertNil(lastHop("m:2@").1, "an empty stamp is no stamp")
        XCTAssertNil(lastHop("m:2@x9").1)
        XCTAssertNil(lastHop("m:2@99999999999999999999999").1, "a stamp beyond 64 bits is no stamp")
    }

    func testCountIgnoresStamps() {
        XCTAssertEqual(count("a:1", "a:1"), 1)
        XCTAssertEqual(count("a:1", "a:1@5,b:2,a:1@9"), 2)
        XCTAssertEqual(count("a:1", "a:10,b:2"), 0)
        XCTAssertEqual(count("a:1", ""), 0)
        XCTAssertEqual(count("b:2", "a:1,b:2"), 1)
    }
}
