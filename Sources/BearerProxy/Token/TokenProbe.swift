import BearerTLS
import Dispatch
import BearerSync

/// `bearer-proxy token`: one token request with the configured settings, described for an
/// operator debugging a provider. The token itself appears only with `showToken`; the secret never.
public enum TokenProbe {
    public struct Report: Sendable {
        public var lines: [String]
        public var succeeded: Bool
    }

    /// Blocks the calling thread (never an event loop) until the answer or the timeout.
    /// `upstreamCertificateFiles`: the client certificate each upstream that uses this token
    /// presents (nil: none), to say whether a certificate-bound token will be accepted.
    public static func run(_ config: TokenConfig, showToken: Bool, upstreamCertificateFiles: [String?] = []) -> Report {
        let loop = EventLoop(index: 0, label: "bearer-proxy.token-probe")
        let setup = TokenSetup(config: config, loop: loop, resolver: AddressResolver())
        let outcome = Locked<Result<TokenGrant, TokenError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        setup.fetcher.fetch { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        // The fetch has its own timeout per request; discovery may add one more.
        _ = done.wait(timeout: .now() + .nanoseconds(Int(TokenProvider.nanoseconds(config.timeout * 3))))
        let result = outcome.withLock { $0 } ?? .failure(.unreachable("no answer within \(config.timeout * 3)"))
        return describe(config, metadata: setup.locator.metadata, result: result, showToken: showToken,
                        upstreamCertificateFiles: upstreamCertificateFiles)
    }

    static func describe(
        _ config: TokenConfig, metadata: AuthorizationServerMetadata?, result: Result<TokenGrant, TokenError>, showToken: Bool,
        upstreamCertificateFiles: [String?] = []
    ) -> Report {
        var lines: [String] = []
        if let issuer = config.issuer {
            lines.append("issuer: \(issuer)")
            if let metadata {
                lines.append("token endpoint: \(metadata.tokenEndpoint) (discovered)")
                lines.append("auth methods offered: \(metadata.authMethodsSupported.joined(separator: ", "))")
            }
        } else if let url = config.url {
            lines.append("token endpoint: \(url)")
        }
        lines.append("client_id: \(config.clientID)")
        lines.append("auth method: \(config.authMethod.rawValue)"
            + (config.authMethod == .privateKeyJWT ? " (\(config.signingAlgorithm?.rawValue ?? "-")\(config.keyID.map { ", kid \($0)" } ?? ""))" : ""))
        if config.authMethod == .federatedJWT, let path = config.assertionFile {
            lines.append("assertion: file \(path): " + CredentialReport.describeAssertion(at: path, now: TokenClock.system.secondsSince1970()))
        }
        lines.append("scopes requested: \(config.scopes.isEmpty ? "(none)" : config.scopes.joined(separator: " "))")
        switch result {
        case .failure(let error):
            lines.append("FAILED: \(error)")
            if error.kind == .configuration {
                lines.append("(a configuration error: check client_id, the credential and the auth method)")
            }
            return Report(lines: lines, succeeded: false)
        case .success(let grant):
            lines.append("scopes granted: \(grant.scope ?? "(not stated; RFC 6749 §5.1: as requested)")")
            // A token the proxy would refuse (already expired) is not a success: exit 1, as the proxy would 503.
            var usable = true
            switch TokenLifetime.of(grant, defaultLifetime: config.defaultLifetime, now: TokenClock.system.secondsSince1970()) {
            case .success(let (lifetime, source)):
                lines.append("lifetime: \(ConfigDuration.format(lifetime)) (from \(source.rawValue))")
                if let ignored = grant.ignoredExpiresIn {
                    lines.append("warning: expires_in \(ignored) is not a positive number of seconds; ignored")
                }
            case .failure(let error):
                lines.append("lifetime: unusable (\(error))")
                usable = false
            }
            if grant.isDPoP {
                lines.append("token type: DPoP (bound to the proxy's proof key; sent as Authorization: DPoP with a proof per request)")
            }
            if let jwt = JWTInspection(grant.accessToken) {
                lines.append("JWT header: \(JWTInspection.text(jwt.header))")
                lines.append("JWT claims: \(JWTInspection.text(jwt.claims))")
                if let bound = jwt.claims["cnf"]?.object?["x5t#S256"]?.string {
                    lines += bindingLines(thumbprint: bound, upstreamCertificateFiles: upstreamCertificateFiles)
                }
            } else {
                lines.append("token: opaque (not a JWT), \(grant.accessToken.utf8.count) characters")
            }
            lines.append(showToken ? "access_token: \(grant.accessToken)" : "access_token: <hidden; --show-token prints it>")
            return Report(lines: lines, succeeded: usable)
        }
    }

    /// A token bound to a certificate (RFC 8705 §3.1) works only on connections that present it.
    static func bindingLines(thumbprint: String, upstreamCertificateFiles: [String?]) -> [String] {
        var lines = ["certificate-bound: cnf.x5t#S256 \(thumbprint) (RFC 8705 §3): the upstream accepts it only from a "
            + "connection that presents that certificate"]
        for file in upstreamCertificateFiles {
            guard let file else {
                lines.append("warning: an upstream that uses this token presents no client certificate "
                    + "(set client_cert_file and client_key_file there): it will refuse this token if it checks the binding")
                continue
            }
            let presented = (try? ConfigFiles.contents(of: file, limit: SizeLimits.pemFile).get())
                .flatMap { try? CertificateThumbprint.sha256(ofLeafInPEM: String(decoding: $0, as: UTF8.self)) }
            if presented.map(Base64URL.encode) == thumbprint {
                lines.append("the upstream presents that certificate (\(file))")
            } else {
                lines.append("warning: the upstream presents another certificate (\(file)): it will refuse this token if it checks the binding")
            }
        }
        return lines
    }
}
