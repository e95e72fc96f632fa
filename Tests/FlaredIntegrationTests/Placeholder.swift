import XCTest

final class FlaredIntegrationTestsPlaceholder: XCTestCase {}
