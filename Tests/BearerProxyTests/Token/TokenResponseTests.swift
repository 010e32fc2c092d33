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
        #expect(throws: TokenError.unusable(#"token_type is "mac", not Bearer"#)) {
            try Self.grant(#"{"access_token":"t","token_type":"mac"}"#)
        }
    }

    @Test("a body that is not a JSON object, or has no access_token, is refused with a reason, as a transient failure")
    func refused() {
        for body in ["", "[]", #"["access_token"]"#, "not json", #"{"access_token":"t""#, #""t""#] {
            #expect(throws: TokenError.invalidResponse("body is not a JSON object"), "\(body)") { try Self.grant(body) }
        }
        for body in ["{}", #"{"access_token":42}"#, #"{"access_token":null}"#] {
            #expect(throws: TokenError.invalidResponse("no access_token"), "\(body)") { try Self.grant(body) }
        }
        #expect(TokenError.invalidResponse("no access_token").kind == .transient)
    }

    // Salesforce issues `00D…!AQ…`: `!` is outside RFC 6750's b64token, and the proxy answered 503 forever.
    @Test("any token of visible ASCII is used as it is: Salesforce's !, padding anywhere, quotes, commas")
    func visibleASCIITokens() throws {
        let salesforce = "00D5g000004XyZa!AQ4AQHs8p.Xq_RbQz2lA3uB9o1Nn5vJwYb7KpLmE0dFgHiJkLmNoPqRsTuVwXyZ"
        let everyVisible = String(String.UnicodeScalarView((0x21...0x7E).map { Unicode.Scalar(UInt8($0)) }))
        for token in [salesforce, "=abc", "ab=c", "a,b;c", #"a"b\c"#, "~", everyVisible] {
            #expect(AccessToken.isValidBearerValue(token), "\(token)")
        }
        let json = #"{"access_token":"\#(salesforce)","token_type":"Bearer","expires_in":7200}"#
        #expect(try Self.grant(json).accessToken == salesforce)
        let quoted = try Self.grant(#"{"access_token":"a\"b\\c"}"#)
        #expect(quoted.accessToken == #"a"b\c"#)
    }

    @Test("a token that can never be a header value, or is not Bearer, is a configuration error (retried slowly)")
    func unusableTokens() {
        let cannotBeAHeader = TokenError.unusable(
            "access_token contains a space, a control or a non-ASCII character, which a header field cannot carry")
        for token in ["a b", #"a\r\nX-Injected: 1"#, #"a\nb"#, #"a\rb"#, #"a\u0000b"#, #"a\tb"#, #"a\u007fb"#, "tök", " ab", "ab "] {
            #expect(throws: cannotBeAHeader, "\(token)") { try Self.grant(#"{"access_token":"\#(token)"}"#) }
        }
        #expect(throws: TokenError.unusable("access_token is empty")) { try Self.grant(#"{"access_token":""}"#) }
        #expect(throws: TokenError.unusable(#"token_type is "N_A", not Bearer"#)) {
            try Self.grant(#"{"access_token":"t","token_type":"N_A"}"#)
        }
        #expect(throws: TokenError.unusable(#"token_type is "DPoP", not Bearer (a DPoP-bound token: set token.dpop)"#)) {
            try Self.grant(#"{"access_token":"t","token_type":"DPoP"}"#)
        }
        #expect(cannotBeAHeader.kind == .configuration)
        #expect(TokenError.unusable("access_token is empty").kind == .configuration)
    }

    @Test("a 200 that carries error and no access_token is the error answer, classified as the same error in a 400")
    func errorInA200() throws {
        for body in [#"{"error":"invalid_client","error_description":"bad secret"}"#,
                     #"{"error":"invalid_client","error_description":"bad secret","access_token":""}"#] {
            #expect(throws: TokenError.rejected(status: 200, error: "invalid_client", errorDescription: "bad secret")) {
                try Self.grant(body)
            }
        }
        let rejected = TokenError.rejected(status: 200, error: "invalid_client", errorDescription: nil)
        #expect(rejected.kind == TokenError.rejected(status: 400, error: "invalid_client", errorDescription: nil).kind)
        #expect(rejected.kind == .configuration)
        #expect(TokenError.rejected(status: 200, error: "temporarily_unavailable", errorDescription: nil).kind == .transient)
        #expect(TokenError.rejected(status: 400, error: "temporarily_unavailable", errorDescription: nil).kind == .transient)
        #expect("\(rejected)" == "token endpoint answered 200 with an error error=invalid_client")
        // A token and an error together: the token is what the client asked for.
        #expect(try Self.grant(#"{"access_token":"t","error":"odd"}"#).accessToken == "t")
    }

    @Test("an expires_in that is no positive number is reported, for the warning that names the lifetime used instead")
    func ignoredExpiresIn() throws {
        let cases: [(String, String?)] = [
            ("0", "0"), ("-5", "-5"), (#""0""#, #""0""#), (#""soon""#, #""soon""#), ("true", "true"),
            ("null", nil), ("60", nil), (#""60""#, nil),
        ]
        for (value, reported) in cases {
            #expect(try Self.grant(#"{"access_token":"t","expires_in":\#(value)}"#).ignoredExpiresIn == reported, "\(value)")
        }
        #expect(try Self.grant(#"{"access_token":"t"}"#).ignoredExpiresIn == nil)
    }

    @Test("a grant never shows its token when printed")
    func grantDescription() throws {
        let grant = try Self.grant(#"{"access_token":"very-secret-token"}"#)
        #expect(!"\(grant)".contains("very-secret-token"))
        #expect(!String(describing: grant).contains("very-secret-token"))
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
        #expect(throws: TokenError.unusable(#"token_type is "mac?x", not Bearer"#)) {
            try Self.grant(#"{"access_token":"t","token_type":"mac\nx"}"#)
        }
    }
}
