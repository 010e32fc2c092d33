import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    /// What the YAML layer under the loader shows a user: syntax errors in libyaml's words,
    /// lines of nested nodes, and the YAML features proxy.conf does or does not accept.
    @Suite("YAMLComposer")
    struct YAMLComposerTests {
        @Test("syntax errors keep libyaml's problem and context at the problem's line", arguments: [
            ("upstream:\n  url: [unclosed\n",
             "proxy.conf:3: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence)"),
            ("upstream:\n  url: https://api.example.com\n token: x\n",
             "proxy.conf:3: invalid YAML: did not find expected key (while parsing a block mapping)"),
            ("upstream: url: x\n",
             "proxy.conf:1: invalid YAML: mapping values are not allowed in this context"),
            ("upstream:\n  url: \"https://api.example.com\n",
             "proxy.conf:3: invalid YAML: found unexpected end of stream (while scanning a quoted scalar)"),
            ("upstream:\n\turl: https://api.example.com\n",
             "proxy.conf:2: invalid YAML: found character that cannot start any token (while scanning for the next token); "
                + "indent with spaces, not tabs"),
        ])
        func syntaxErrors(yaml: String, description: String) throws {
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.description == description)
        }

        @Test("nested nodes report their own line in block and flow style", arguments: [
            ("timeouts:\n  idle: 1s\n  body_read:\n    - 1s",
             "proxy.conf:10: timeouts.body_read: must be a string, found a list"),
            ("limits: {max_header_count: 1,\n  max_header_bytes: x}",
             "proxy.conf:8: limits.max_header_bytes: must be a whole number, found a string"),
            ("allowed_hosts:\n  - a.example\n  -",
             "proxy.conf:9: allowed_hosts[1]: must be a non-empty string, found null"),
            ("log:\n  level: |\n    debug\n",
             "proxy.conf:8: log.level: must be one of trace, debug, info, notice, warning, error, critical (did you mean \"debug\"?)"),
        ])
        func nestedLines(extra: String, description: String) throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: extra)))
            #expect(error.description == description)
        }

        @Test("a second document is an error at the line where it starts")
        func secondDocument() throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: "---\nworkers: 1")))
            #expect(error.description
                == "proxy.conf:7: invalid YAML: but found another document (expected a single document in the stream)")
        }

        @Test("explicit document markers around the one document are accepted")
        func documentMarkers() throws {
            let config = try ConfigFixture.parse("%YAML 1.1\n---\n" + ConfigFixture.minimal + "\n...\n")
            #expect(config.token.clientID == "my-app")
        }

        @Test("a file of only comments reads as empty")
        func onlyComments() throws {
            let error = try #require(ConfigFixture.error("# nothing yet\n"))
            #expect(error.description == "proxy.conf: upstream.url: required key is missing")
        }

        @Test("an alias repeats the anchored value, keys and list items included")
        func aliases() throws {
            let yaml = ConfigFixture.minimal.replacingOccurrences(of: "client_id: my-app", with: "client_id: &id my-app")
                + "\n  scopes: [&s read, *s]\n  extra_params: {*id : x}"
            let token = try ConfigFixture.parse(yaml).token
            #expect(token.scopes == ["read", "read"])
            #expect(token.extraParameters == [TokenParameter(name: "my-app", value: "x")])
        }

        @Test("an alias is reported at its anchor's line, like the anchored node")
        func aliasLine() throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: "allowed_hosts: &h [a]\nadmin: {listen: *h}")))
            #expect(error.description == "proxy.conf:7: admin.listen: must be a string, found a list")
        }

        @Test("an undefined alias, or one inside its own anchor, is an error at its line", arguments: [
            ("workers: *nope", "proxy.conf:7: invalid YAML: found undefined alias"),
            ("allowed_hosts: &h [*h]", "proxy.conf:7: invalid YAML: found undefined alias"),
        ])
        func undefinedAlias(extra: String, description: String) throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: extra)))
            #expect(error.description == description)
        }

        @Test("a tag is rejected at its line rather than ignored", arguments: ["workers: !!str 3", "log: !!map {level: info}"])
        func tags(extra: String) throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: extra)))
            #expect(error.description == "proxy.conf:7: YAML tags (!...) are not supported; write the value without one")
        }

        @Test("a merge key is not special: it is an unknown key")
        func mergeKey() throws {
            let error = try #require(ConfigFixture.error(ConfigFixture.minimal(plus: "<<: {workers: 1}")))
            #expect(error.description == "proxy.conf:7: <<: unknown key")
        }

        @Test("duplicate keys are found in nested mappings and whether quoted or not", arguments: [
            ("upstream:\n  url: https://a.example\n  url: https://b.example\n", "proxy.conf:2: url: duplicate key"),
            (ConfigFixture.minimal(plus: "workers: 1\n\"workers\": 2"), "proxy.conf:7: workers: duplicate key"),
            ("b: 1\na: 1\nb: 2\na: 2\n", "proxy.conf:2: a: duplicate key"),
        ])
        func duplicateKeys(yaml: String, description: String) throws {
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.description == description)
        }

        @Test("a NUL or other control byte in the file is refused without a line", arguments: ["a\u{0}b", "a\u{1}b"])
        func controlBytes(value: String) throws {
            let error = try #require(ConfigFixture.error("upstream:\n  url: \(value)\n"))
            #expect(error.description == "proxy.conf: invalid YAML: control characters are not allowed")
        }

        @Test("an escaped NUL in a quoted scalar reaches the value whole")
        func escapedNUL() throws {
            let yaml = ConfigFixture.minimal.replacingOccurrences(of: "client_id: my-app", with: #"client_id: "a\0b""#)
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.description == "proxy.conf:5: token.client_id: must not contain control characters")
        }

        @Test("deep nesting is an error at its line, not a stack overflow")
        func deepNesting() throws {
            let depth = 100_000
            let yaml = "upstream: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let error = try #require(ConfigFixture.error(yaml))
            #expect(error.description == "proxy.conf:1: nested more than \(YAMLComposer.maxDepth) levels deep")
        }

        @Test("aliases of aliases (billion laughs) stop at a bound instead of expanding without end")
        func billionLaughs() throws {
            // Ten levels of ten aliases each would stand for 10^10 nodes.
            var lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
            for level in 1...9 {
                lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]")
            }
            let clock = ContinuousClock()
            let started = clock.now
            let error = try #require(ConfigFixture.error(lines.joined(separator: "\n")))
            #expect(error.description == "proxy.conf:5: aliases expand to more than \(YAMLComposer.maxExpandedNodes) nodes")
            #expect(clock.now - started < .seconds(5))
        }

        @Test("composer gives every node its 1-based line")
        func composerLines() throws {
            let root = try #require(try YAMLComposer.compose("a:\n  b: [x,\n    y]\nc: z\n"))
            guard case .mapping(let top) = root.content, case .mapping(let a) = top[0].value.content,
                  case .sequence(let items) = a[0].value.content else {
                Issue.record("unexpected shape")
                return
            }
            #expect(top.map(\.key.line) == [1, 4])
            #expect(a[0].key.line == 2)
            #expect(items.map(\.line) == [2, 3])
        }
    }
}
