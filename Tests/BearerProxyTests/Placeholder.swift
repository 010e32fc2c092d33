import Testing
@testable import BearerProxy
