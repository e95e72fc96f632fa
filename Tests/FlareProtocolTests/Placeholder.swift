import XCTest

final class FlareProtocolTestsPlaceholder: XCTestCase {}
