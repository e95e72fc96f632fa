import XCTest

final class FlareStorageTestsPlaceholder: XCTestCase {}
