/// `token.shared_cache` (and each profile's in `tokens:`): one token for the whole fleet, kept in
/// Redis, sealed with a key the replicas share, and fetched by one replica at a time.
public struct SharedCacheConfig: Sendable, Equatable {
    public static let keys = ["url", "username", "password_file", "ca_file", "insecure_skip_verify", "key_file", "key_prefix"]

    /// `redis://host[:port][/db]` or `rediss://` for TLS.
    public var server: RedisURL
    /// ACL user name (Redis 6+); nil: AUTH with the password only.
    public var username: String?
    /// The AUTH password, read when a connection opens (so a rotated Secret is used from then on).
    public var passwordFile: String?
    /// PEM CA certificates for `rediss://`; nil: the system trust store.
    public var caFile: String?
    /// `rediss://` without certificate verification: for trials only, announced at start.
    public var insecureSkipVerify: Bool
    /// Where `key` was read from, for the summary.
    public var keyFile: String
    /// The 32-byte AES-256-GCM key every replica seals and opens the shared token with.
    public var key: SealingKey
    /// Prefix of every key name the proxy writes.
    public var keyPrefix: String

    public static let defaultKeyPrefix = "bearer-proxy"

    public init(server: RedisURL, username: String? = nil, passwordFile: String? = nil, caFile: String? = nil,
                insecureSkipVerify: Bool = false, keyFile: String, key: SealingKey, keyPrefix: String = defaultKeyPrefix) {
        self.server = server
        self.username = username
        self.passwordFile = passwordFile
        self.caFile = caFile
        self.insecureSkipVerify = insecureSkipVerify
        self.keyFile = keyFile
        self.key = key
        self.keyPrefix = keyPrefix
    }

    /// The same Redis server reached the same way: such sections share one connection.
    var connectionIdentity: String {
        [server.description, username ?? "", passwordFile ?? "", caFile ?? "", "\(insecureSkipVerify)"].joined(separator: "\u{0}")
    }

    static func load(_ section: ConfigMapping, files: ConfigFiles) throws(ConfigError) -> SharedCacheConfig {
        let server = try section.value("url") { text throws(InvalidValue) in try RedisURL.parse(text) }
        guard let server else { throw section.missing("url") }
        let insecureSkipVerify = try section.bool("insecure_skip_verify") ?? false
        if !server.isTLS {
            if section.node("ca_file") != nil { throw section.error("ca_file", "is used only with a rediss:// url") }
            if insecureSkipVerify { throw section.error("insecure_skip_verify", "is used only with a rediss:// url") }
        }
        let caFile = try section.caFile("ca_file", files: files)
        var passwordFile: String?
        if let path = try section.string("password_file") {
            let resolved = files.resolve(path)
            if case .failure(let failure) = ConfigFiles.contents(of: resolved, limit: SizeLimits.secretFile) {
                throw section.error("password_file", failure.message)
            }
            passwordFile = resolved
        }
        let username = try section.string("username")
        if username != nil, passwordFile == nil {
            throw section.error("username", "needs password_file (Redis AUTH takes a user name only with a password)")
        }
        guard let keyPath = try section.string("key_file") else { throw section.missing("key_file") }
        let keyFile = files.resolve(keyPath)
        let key: SealingKey
        switch ConfigFiles.contents(of: keyFile, limit: SizeLimits.secretFile) {
        case .failure(let failure):
            throw section.error("key_file", failure.message)
        case .success(let contents):
            guard let parsed = SealingKey(fileContents: contents) else {
                throw section.error("key_file", "\(keyFile) must hold 32 random bytes: raw, or as 64 hex digits or base64 "
                    + "(e.g. openssl rand -base64 32); the same file for every replica")
            }
            key = parsed
        }
        let prefix = try section.value("key_prefix") { text throws(InvalidValue) in
            guard !text.isEmpty, text.utf8.count <= 64, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw InvalidValue("must be 1 to 64 visible ASCII characters")
            }
            return text
        } ?? defaultKeyPrefix
        return SharedCacheConfig(server: server, username: username, passwordFile: passwordFile, caFile: caFile,
                                 insecureSkipVerify: insecureSkipVerify, keyFile: keyFile, key: key, keyPrefix: prefix)
    }
}

/// The shared cache's sealing key: 32 bytes that never reach a log line.
public struct SealingKey: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// The key file as Kubernetes and `openssl rand` write it: exactly 32 raw bytes, or 64 hex
    /// digits, or base64 of 32 bytes, each with or without a final line break.
    init?(fileContents: [UInt8]) {
        if let raw = SealingKey(bytes: fileContents) {
            self = raw
            return
        }
        let text = String(decoding: fileContents, as: UTF8.self).trimmingWhitespace()
        if text.utf8.count == 64, let hex = Self.hex(text) {
            self.init(bytes: hex)
        } else if let decoded = Base64URL.decode(Substring(text)) {
            self.init(bytes: decoded)
        } else {
            return nil
        }
    }

    public var description: String { "<redacted>" }

    private static func hex(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return bytes
    }
}

/// A Redis server URL: `redis://host[:port][/db]`, `rediss://` for TLS (port 6379 by default).
/// User and password are not taken from the URL: they would end up in logs and process lists.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public var isTLS: Bool
    /// SELECT index; 0 by default.
    public var database: Int

    public init(host: String, port: UInt16 = 6379, isTLS: Bool = false, database: Int = 0) {
        self.host = host
        self.port = port
        self.isTLS = isTLS
        self.database = database
    }

    public var description: String {
        "\(isTLS ? "rediss" : "redis")://\(HostPort.bracketed(host)):\(port)/\(database)"
    }

    static func parse(_ text: String) throws(InvalidValue) -> RedisURL {
        guard let separator = text.firstRange(of: "://") else {
            throw InvalidValue("must be redis://host[:port][/db] or rediss://…")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "redis" || scheme == "rediss" else {
            throw InvalidValue("scheme must be redis or rediss (TLS)")
        }
        let rest = text[separator.upperBound...]
        // The HTTP URL parser checks host, port, brackets and characters the same way.
        let parsed = try EndpointURL.parse("http://" + rest, role: .endpoint)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let explicitPort = authority.hasPrefix("[") ? authority.contains("]:") : authority.contains(":")
        var database = 0
        let path = parsed.path.dropFirst()
        if !path.isEmpty {
            guard let number = Int(path), (0...15_999).contains(number) else {
                throw InvalidValue("path must be a database number such as /0, and nothing else (no query)")
            }
            database = number
        }
        return RedisURL(host: parsed.host, port: explicitPort ? parsed.port : 6379, isTLS: scheme == "rediss", database: database)
    }
}
