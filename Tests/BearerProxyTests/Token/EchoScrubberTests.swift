import BearerTLS
import Foundation
import Testing
@testable import BearerProxy

/// Some servers copy the client secret, the Basic header or the assertion into error_description;
/// that text reaches the log, /readyz and the 503 body local callers get.
@Suite("Credentials echoed by the token endpoint are removed")
struct EchoScrubberTests {
    static let endpoint = EndpointURL(scheme: "https", host: "auth.example.com", port: 443, path: "/token")
    static let secret = "s3cr%t +é/x=y"

    static func prepared(_ method: ClientAuthMethod, encoding: TokenConfig.BasicEncoding = .form,
                         key: JWSSigningKey? = nil) throws -> TokenRequest.Prepared {
        var parameters = TokenRequest.Parameters(clientID: "app", authMethod: method)
        parameters.basicEncoding = encoding
        return try TokenRequest.prepare(parameters, endpoint: endpoint,
                                        credentials: .init(secret: method.usesSecret ? Secret(secret) : nil, signingKey: key),
                                        now: 1_700_000_000, jwtID: "jti")
    }

    /// The failure a 401 answer whose error_description is `echo` turns into, as it would be logged.
    static func failure(echoing echo: String, _ request: TokenRequest.Prepared, status: Int = 401) -> String {
        let body = #"{"error":"invalid_client","error_description":"\#(JSONText.escaped(echo))"}"#
        let result = OAuthTokenFetcher.interpret(.success(TokenEndpointLocatorTests.response(status, body)), scrubber: request.scrubber)
        guard case .failure(let error) = result else { return "accepted" }
        return "\(error)"
    }

    static func header(_ name: String, in request: TokenRequest.Prepared) -> String? {
        let text = String(decoding: request.bytes, as: UTF8.self)
        return text.split(separator: "\r\n").first { $0.hasPrefix(name + ": ") }.map { String($0.dropFirst(name.count + 2)) }
    }

    static func formValue(_ name: String, in request: TokenRequest.Prepared) -> String? {
        let text = String(decoding: request.bytes, as: UTF8.self)
        let body = text.components(separatedBy: "\r\n\r\n")[1]
        return body.split(separator: "&").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    @Test("the secret as it is, form-encoded (either hex case, space as + too), Base64 (padded or not) and base64url never survive", arguments: [
        ClientAuthMethod.clientSecretBasic, .clientSecretPost,
    ])
    func secretForms(method: ClientAuthMethod) throws {
        let request = try Self.prepared(method)
        let encoded = FormEncoding.encode(Self.secret)
        let base64 = Data(Self.secret.utf8).base64EncodedString()
        #expect(base64.hasSuffix("="), "the unpadded form must differ for this test")
        let forms = [Self.secret, encoded, encoded.lowercased(), encoded.replacingOccurrences(of: "%20", with: "+"),
                     base64, String(base64.prefix { $0 != "=" }), Base64URL.encode(Array(Self.secret.utf8))]
        for form in forms {
            let text = Self.failure(echoing: "client secret '\(form)' is wrong", request)
            #expect(!text.contains(form), "\(form)")
            #expect(!text.contains(Self.secret))
            #expect(text.contains("client secret '[redacted]' is wrong"), "\(text)")
        }
    }

    @Test("the Basic header, its Base64 credentials and the raw pair never survive", arguments: [
        TokenConfig.BasicEncoding.form, .raw,
    ])
    func basicHeader(encoding: TokenConfig.BasicEncoding) throws {
        let request = try Self.prepared(.clientSecretBasic, encoding: encoding)
        let header = try #require(Self.header("Authorization", in: request))
        let credentials = String(header.dropFirst("Basic ".count))
        let decoded = String(decoding: Data(base64Encoded: credentials)!, as: UTF8.self)
        for echo in ["got Authorization: \(header)", "credentials \(credentials) unknown", "pair \(decoded) unknown"] {
            let text = Self.failure(echoing: echo, request)
            #expect(!text.contains(credentials) && !text.contains(decoded) && !text.contains(Self.secret), "\(text)")
            #expect(text.contains("[redacted]"))
        }
    }

    @Test("a client assertion, whole or its signature alone, never survives", arguments: [
        ClientAuthMethod.clientSecretJWT, .privateKeyJWT,
    ])
    func assertion(method: ClientAuthMethod) throws {
        let request = try Self.prepared(method, key: method == .privateKeyJWT ? TokenFixture.ecKey : nil)
        let assertion = try #require(Self.formValue("client_assertion", in: request))
        let signature = String(assertion.split(separator: ".").last!)
        for echo in ["assertion \(assertion) rejected", "bad signature \(signature)"] {
            let text = Self.failure(echoing: echo, request)
            #expect(!text.contains(signature), "\(text)")
        }
    }

    @Test("removal comes before shortening, so no prefix of a secret is left at the cut")
    func beforeTruncation() throws {
        let request = try Self.prepared(.clientSecretPost)
        let padding = String(repeating: "x", count: 295)
        let text = Self.failure(echoing: padding + Self.secret, request)
        #expect(!text.contains("s3cr"))
        #expect(text.hasSuffix("[reda\""))
    }

    @Test("the error code, token_type and a 200-with-error are scrubbed too")
    func otherFields() throws {
        let request = try Self.prepared(.clientSecretPost)
        let inCode = OAuthTokenFetcher.interpret(.success(TokenEndpointLocatorTests.response(
            400, #"{"error":"\#(JSONText.escaped(Self.secret))"}"#)), scrubber: request.scrubber)
        #expect(!"\(inCode)".contains(Self.secret))
        let inType = OAuthTokenFetcher.interpret(.success(TokenEndpointLocatorTests.response(
            200, #"{"access_token":"t","token_type":"\#(JSONText.escaped(Self.secret))"}"#)), scrubber: request.scrubber)
        #expect(!"\(inType)".contains(Self.secret))
        let in200 = OAuthTokenFetcher.interpret(.success(TokenEndpointLocatorTests.response(
            200, #"{"error":"invalid_client","error_description":"\#(JSONText.escaped(Self.secret))"}"#)), scrubber: request.scrubber)
        #expect(!"\(in200)".contains(Self.secret))
        #expect("\(in200)".contains("[redacted]"))
    }

    @Test("text without any echo is left as it was")
    func untouched() throws {
        let request = try Self.prepared(.clientSecretBasic)
        #expect(Self.failure(echoing: "client authentication failed", request)
            == #"token endpoint answered 401 error=invalid_client error_description="client authentication failed""#)
    }
}
