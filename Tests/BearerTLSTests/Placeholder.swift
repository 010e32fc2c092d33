import Testing
@testable import BearerTLS
