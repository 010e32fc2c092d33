/// The only two protocol versions this layer speaks. Anything else is rejected at parse time
/// (RFC 9112 §2.3: the version is case-sensitive and exactly `HTTP/` DIGIT `.` DIGIT).
enum HTTPVersion: Sendable, Equatable {
    case http1_0
    case http1_1
}
