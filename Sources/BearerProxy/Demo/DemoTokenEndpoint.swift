import BearerTLS
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The demo's authorization server: the client credentials grant with HTTP Basic client
/// authentication (RFC 6749 §4.4, §2.3.1), answering with an HS256-signed JWT.
enum DemoTokenEndpoint {
    static let lifetime = 300

    static func answer(_ request: LocalRequest, clientID: String, clientSecret: String, signingKey: [UInt8]) -> LocalResponse {
        guard request.method == "POST", request.target.hasPrefix("/oauth2/token") else {
            return .json(404, #"{"error":"not_found"}"#)
        }
        let form = parseForm(String(decoding: request.body, as: UTF8.self))
        guard form["grant_type"] == "client_credentials" else {
            return .json(400, #"{"error":"unsupported_grant_type"}"#)
        }
        guard let credentials = basicCredentials(request.values(of: "authorization").first),
              credentials.id == clientID, credentials.secret == clientSecret else {
            return .json(401, #"{"error":"invalid_client","error_description":"client authentication failed"}"#,
                         extraFields: [("WWW-Authenticate", "Basic realm=\"demo\"")])
        }
        let scope = form["scope"] ?? ""
        let now = Int(Date().timeIntervalSince1970)
        let header = #"{"alg":"HS256","typ":"at+jwt"}"#
        let payload = #"{"iss":"bearer-proxy-demo","sub":"\#(clientID)","aud":"demo-upstream","scope":"\#(scope)","iat":\#(now),"exp":\#(now + lifetime),"jti":"\#(Base64URL.encode(CryptoPrimitives.randomBytes(9)))"}"#
        let signingInput = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let signature = CryptoPrimitives.hmacSHA256(key: signingKey, data: Array(signingInput.utf8))
        let jwt = signingInput + "." + Base64URL.encode(signature)
        return .json(200, #"{"access_token":"\#(jwt)","token_type":"Bearer","expires_in":\#(lifetime),"scope":"\#(scope)"}"#,
                     extraFields: [("Cache-Control", "no-store")])
    }

    static func parseForm(_ body: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(String(parts[0]))
            let value = parts.count > 1 ? decode(String(parts[1])) : ""
            result[name] = value
        }
        return result
    }

    static func decode(_ text: String) -> String {
        FormEncoding.decode(text) ?? text
    }

    /// RFC 6749 §2.3.1: the id and secret were form-encoded before base64.
    static func basicCredentials(_ header: String?) -> (id: String, secret: String)? {
        guard let header, header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingWhitespace()),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return (decode(String(text[..<colon])), decode(String(text[text.index(after: colon)...])))
    }
}

/// The demo's upstream: answers every request with a description of it as it arrived over TLS.
enum DemoEchoUpstream {
    static func answer(_ request: LocalRequest) -> LocalResponse {
        var lines: [String] = []
        lines.append("  \"method\": \"\(JSONText.escaped(request.method))\",")
        lines.append("  \"target\": \"\(JSONText.escaped(request.target))\",")
        lines.append("  \"headers\": [")
        let fields = request.headerFields
        for (index, field) in fields.enumerated() {
            let comma = index == fields.count - 1 ? "" : ","
            lines.append("    [\"\(JSONText.escaped(field.name))\", \"\(JSONText.escaped(field.value))\"]\(comma)")
        }
        lines.append("  ],")
        lines.append("  \"body_bytes\": \(request.body.count)")
        let text = "{\n  \"received_over\": \"TLS\",\n" + lines.joined(separator: "\n") + "\n}\n"
        return .json(200, text)
    }
}
