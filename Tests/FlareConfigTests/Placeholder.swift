import XCTest

final class FlareConfigTestsPlaceholder: XCTestCase {}
