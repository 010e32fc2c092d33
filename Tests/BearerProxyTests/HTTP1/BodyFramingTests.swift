import Testing
@testable import BearerProxy

extension HTTP1Tests {
@Suite("BodyFraming")
struct BodyFramingTests {
    func requestFraming(_ fields: String, version: String = "HTTP/1.1") throws -> Result<BodyFraming, HTTP1Error> {
        let head = try #require(parseOnce(bytes("POST / \(version)\r\nHost: a\r\n\(fields)\r\n"), .default, HeadParser.parseRequestHead).head)
        do throws(HTTP1Error) { return .success(try head.bodyFraming()) } catch { return .failure(error) }
    }

    func responseFraming(_ statusAndFields: String, head isHEAD: Bool = false) throws -> Result<BodyFraming, HTTP1Error> {
        let head = try #require(parseOnce(bytes("HTTP/1.1 \(statusAndFields)\r\n"), .default, HeadParser.parseResponseHead).head)
        do throws(HTTP1Error) { return .success(try head.bodyFraming(requestMethodIsHEAD: isHEAD)) } catch { return .failure(error) }
    }

    @Test("request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3 rule 7)")
    func requestWithoutFraming() throws {
        #expect(try requestFraming("") == .success(.none))
    }

    @Test("request with Content-Length has that many bytes", arguments: [
        ("Content-Length: 5\r\n", UInt64(5)), ("content-length: 0\r\n", 0), ("Content-Length: 007\r\n", 7),
        ("Content-Length: 5, 5\r\n", 5), ("Content-Length: 5\r\nContent-Length: 5\r\n", 5),
        ("Content-Length:  42 \r\n", 42), ("Content-Length: 9223372036854775807\r\n", UInt64(Int64.max)),
    ])
    func contentLength(_ fields: String, _ length: UInt64) throws {
        #expect(try requestFraming(fields) == .success(.contentLength(length)))
    }

    @Test("request rejects a Content-Length that is not 1*DIGIT or does not fit", arguments: [
        "+5", "-1", "0x10", " 5 5", "5 5", "5\t5", "", "5,", ",5", "5;", "1e3", "١", "99999999999999999999999999999",
        "10000000000000000000", "9223372036854775808", "18446744073709551616",
    ])
    func invalidContentLength(_ value: String) throws {
        #expect(try requestFraming("Content-Length: \(value)\r\n") == .failure(.invalidContentLength))
    }

    @Test("request rejects differing duplicate Content-Length", arguments: [
        "Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length: 5, 6\r\n", "Content-Length: 5\r\nContent-Length: 5, 50\r\n",
    ])
    func conflictingContentLength(_ fields: String) throws {
        #expect(try requestFraming(fields) == .failure(.conflictingContentLength))
    }

    @Test("request with Transfer-Encoding chunked, in any case, is chunked",
          arguments: ["chunked", "Chunked", "CHUNKED", "chunked, ", " , chunked"])
    func chunked(_ coding: String) throws {
        #expect(try requestFraming("Transfer-Encoding: \(coding)\r\n") == .success(.chunked))
    }

    @Test("request rejects any Transfer-Encoding but a single chunked", arguments: [
        "Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: chunked, gzip\r\n", "Transfer-Encoding: gzip\r\n", "Transfer-Encoding: \r\n",
        "Transfer-Encoding: identity\r\n", "Transfer-Encoding: chunked;q=1\r\n", "Transfer-Encoding: \"chunked\"\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: xchunked\r\n", "Transfer-Encoding: chunked x\r\n",
    ])
    func unsupportedTransferEncoding(_ fields: String) throws {
        #expect(try requestFraming(fields) == .failure(.unsupportedTransferEncoding))
    }

    @Test("request rejects Transfer-Encoding together with Content-Length (RFC 9112 §6.3 rule 3)", arguments: [
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Content-Length: 0\r\nTransfer-Encoding: gzip\r\n",
    ])
    func contentLengthWithTransferEncoding(_ fields: String) throws {
        #expect(try requestFraming(fields) == .failure(.contentLengthWithTransferEncoding))
    }

    @Test("HTTP/1.0 request with Transfer-Encoding is faulty framing (RFC 9112 §6.1)")
    func transferEncodingInHTTP10() throws {
        #expect(try requestFraming("Transfer-Encoding: chunked\r\n", version: "HTTP/1.0") == .failure(.transferEncodingInHTTP10))
        #expect(try requestFraming("Transfer-Encoding: chunked\r\nContent-Length: 1\r\n", version: "HTTP/1.0") == .failure(.transferEncodingInHTTP10))
        #expect(try requestFraming("Content-Length: 3\r\n", version: "HTTP/1.0") == .success(.contentLength(3)))
    }

    @Test("responses to HEAD and 1xx, 204, 304 responses have no body, whatever their fields say")
    func responsesWithoutBody() throws {
        #expect(try responseFraming("200 OK\r\nContent-Length: 10\r\n", head: true) == .success(.none))
        #expect(try responseFraming("100 Continue\r\n") == .success(.none))
        #expect(try responseFraming("101 Switching Protocols\r\nTransfer-Encoding: chunked\r\n") == .success(.none))
        #expect(try responseFraming("204 No Content\r\nContent-Length: 3\r\n") == .success(.none))
        #expect(try responseFraming("304 Not Modified\r\nContent-Length: 3\r\n") == .success(.none))
    }

    @Test("response with neither Content-Length nor Transfer-Encoding runs until close (RFC 9112 §6.3 rule 8)")
    func untilClose() throws {
        #expect(try responseFraming("200 OK\r\n") == .success(.untilClose))
    }

    @Test("response framing follows chunked, then Content-Length")
    func responseFraming() throws {
        #expect(try responseFraming("200 OK\r\nTransfer-Encoding: Chunked\r\n") == .success(.chunked))
        #expect(try responseFraming("200 OK\r\nContent-Length: 12\r\n") == .success(.contentLength(12)))
        #expect(try responseFraming("404 Not Found\r\nContent-Length: 0\r\n") == .success(.contentLength(0)))
    }

    @Test("response framing is strict where the RFC would guess")
    func strictResponses() throws {
        #expect(try responseFraming("200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n") == .failure(.contentLengthWithTransferEncoding))
        #expect(try responseFraming("200 OK\r\nTransfer-Encoding: gzip\r\n") == .failure(.unsupportedTransferEncoding))
        #expect(try responseFraming("200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n") == .failure(.conflictingContentLength))
        #expect(try responseFraming("200 OK\r\nContent-Length: -3\r\n") == .failure(.invalidContentLength))
        let head10 = try #require(parseOnce(bytes("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .default, HeadParser.parseResponseHead).head)
        #expect(throws: HTTP1Error.transferEncodingInHTTP10) { try head10.bodyFraming(requestMethodIsHEAD: false) }
    }
}
}
