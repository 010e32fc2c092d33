@testable import BearerProxy
import Testing

@Suite("TokenGrant parsing (RFC 6749 §5.1, §5.2)")
struct TokenResponseTests {
    static func grant(_ json: String) throws(TokenError) -> TokenGrant {
        try TokenGrant.parse(Array(json.utf8))
    }

    static func jwt(_ claims: String) -> String {
        "eyJhbGciOiJub25lIn0." + Base64URL.encode(Array(claims.utf8)) + ".sig"
    }

    @Test("a bearer answer gives the token, expires_in and scope")
    func complete() throws {
        let grant = try Self.grant(#"{"access_token":"abc.def","token_type":"bearer","expires_in":3600,"scope":"read write"}"#)
        #expect(grant.accessToken == "abc.def")
        #expect(grant.expiresIn == .seconds(3600))
        #expect(grant.scope == "read write")
        #expect(grant.expiry == nil && grant.issuedAt == nil)
    }

    @Test("expires_in may be a fraction or a numeric string; zero, negative, non-numeric, null and booleans are ignored")
    func expiresIn() throws {
        let cases: [(String, Duration?)] = [
            ("60", .seconds(60)), ("1.5", .milliseconds(1500)), (#""90""#, .seconds(90)), (#""2.5""#, .milliseconds(2500)),
            ("0", nil), ("-5", nil), (#""0""#, nil), (#""soon""#, nil), (#""""#, nil), ("null", nil),
            // JSONSerialization handed booleans over as NSNumber (true = 1 s); a boolean is not a lifetime.
            ("true", nil), ("false", nil), ("[60]", nil), (#"{"s":60}"#, nil),
        ]
        for (value, expected) in cases {
            let grant = try Self.grant(#"{"access_token":"t","expires_in":\#(value)}"#)
            #expect(grant.expiresIn == expected, "expires_in \(value)")
        }
    }

    @Test("an absurd or non-finite expires_in never crashes: it is capped at a day or ignored")
    func expiresInExtremes() throws {
        let cases: [(String, Duration?)] = [
            ("172800", .seconds(86_400)), ("1e300", .seconds(86_400)), (#""1e300""#, .seconds(86_400)),
            (#""inf""#, nil), (#""-inf""#, nil), (#""nan""#, nil), ("9223372036854775808", .seconds(86_400)),
        ]
        for (value, expected) in cases {
            let grant = try Self.grant(#"{"access_token":"t","expires_in":\#(value)}"#)
            #expect(grant.expiresIn == expected, "expires_in \(value)")
        }
    }

    @Test("token_type is optional and case-insensitive, but must be Bearer when present (RFC 6750)")
    func tokenType() throws {
        #expect(try Self.grant(#"{"access_token":"t"}"#).accessToken == "t")
        #expect(try Self.grant(#"{"access_token":"t","token_type":"BEARER"}"#).accessToken == "t")
        #expect(try Self.grant(#"{"access_token":"t","token_type":null}"#).accessToken == "t")
        #expect(throws: TokenError.invalidResponse(#"token_type is "mac", not Bearer"#)) {
            try Self.grant(#"{"access_token":"t","token_type":"mac"}"#)
        }
    }

    @Test("a body that is not a JSON object, or has no usable access_token, is refused with a reason")
    func refused() {
        for body in ["", "[]", #"["access_token"]"#, "not json", #"{"access_token":"t""#, #""t""#] {
            #expect(throws: TokenError.invalidResponse("body is not a JSON object"), "\(body)") { try Self.grant(body) }
        }
        for body in ["{}", #"{"access_token":""}"#, #"{"access_token":42}"#, #"{"access_token":null}"#] {
            #expect(throws: TokenError.invalidResponse("no access_token"), "\(body)") { try Self.grant(body) }
        }
        for token in ["a b", #"a\r\nX-Injected: 1"#, "=abc", "ab=c", "tök"] {
            #expect(throws: TokenError.invalidResponse("access_token contains characters not allowed in a bearer header (RFC 6750 §2.1)"),
                    "\(token)") { try Self.grant(#"{"access_token":"\#(token)"}"#) }
        }
    }

    @Test("a JWT access token gives exp and iat; a boolean claim is not a time")
    func jwtClaims() throws {
        let grant = try Self.grant(#"{"access_token":"\#(Self.jwt(#"{"exp":1700000300,"iat":1700000000.5}"#))"}"#)
        #expect(grant.expiry == 1_700_000_300)
        #expect(grant.issuedAt == 1_700_000_000.5)
        let odd = try Self.grant(#"{"access_token":"\#(Self.jwt(#"{"exp":"1700000300","iat":true}"#))"}"#)
        #expect(odd.expiry == nil && odd.issuedAt == nil)
    }

    @Test("error and error_description are read from a failure body and shortened; anything else gives nothing")
    func errorFields() {
        let long = String(repeating: "x", count: 500)
        let details = TokenGrant.parseError(Array(#"{"error":"invalid_client","error_description":"\#(long)","error_uri":"https://e"}"#.utf8))
        #expect(details.error == "invalid_client")
        #expect(details.description == String(repeating: "x", count: 300))
        let longError = TokenGrant.parseError(Array(#"{"error":"\#(long)"}"#.utf8))
        #expect(longError.error?.count == 100)
        for body in ["", "<html>502</html>", "[]", #"{"error":5,"error_description":["x"]}"#] {
            let none = TokenGrant.parseError(Array(body.utf8))
            #expect(none.error == nil && none.description == nil, "\(body)")
        }
    }

    @Test("a CR, LF or other control character from the server cannot start a forged log line")
    func errorFieldsControlCharacters() {
        let details = TokenGrant.parseError(Array(#"{"error":"invalid_client\r\nx","error_description":"bad\n2026-01-01T00:00:00Z critical forged\u0000\u2028é"}"#.utf8))
        #expect(details.error == "invalid_client??x")
        #expect(details.description == "bad?2026-01-01T00:00:00Z critical forged??é")
        #expect(throws: TokenError.invalidResponse(#"token_type is "mac?x", not Bearer"#)) {
            try Self.grant(#"{"access_token":"t","token_type":"mac\nx"}"#)
        }
    }
}
