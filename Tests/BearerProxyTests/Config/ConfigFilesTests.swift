import Foundation
import Testing
@testable import BearerProxy

extension ConfigTests {
    @Suite("ConfigFiles")
    struct ConfigFilesTests {
        @Test("directory of a config path is what NSString.deletingLastPathComponent gives", arguments: [
            ("proxy.conf", ""), ("conf/proxy.conf", "conf"), ("./proxy.conf", "."), ("/etc/bp/proxy.conf", "/etc/bp"),
            ("/proxy.conf", "/"), ("/", "/"), ("a//b", "a"), ("a/b/", "a"), ("//a", "/"), ("", ""),
        ])
        func directory(path: String, expected: String) {
            #expect(ConfigFiles.directory(of: path) == expected)
            #expect((path as NSString).deletingLastPathComponent == expected)
        }

        @Test("relative paths resolve against the config directory, absolute ones stay")
        func resolve() {
            let files = ConfigFiles(baseDirectory: "/etc/bp")
            #expect(files.resolve("ca.pem") == "/etc/bp/ca.pem")
            #expect(files.resolve("/tmp/ca.pem") == "/tmp/ca.pem")
        }

        @Test("current directory is the process's working directory")
        func currentDirectory() {
            #expect(ConfigFiles.currentDirectory() == FileManager.default.currentDirectoryPath)
        }

        @Test("load refuses a file that is not UTF-8, naming the file")
        func notUTF8() throws {
            let path = ConfigFixture.temporaryDirectory() + "/proxy.conf"
            try Data([0x61, 0x3A, 0x20, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: path))
            #expect(throws: ConfigError(source: path, line: nil, key: "", message: "is not valid UTF-8 text")) {
                try ProxyConfig.load(path: path, environment: [:])
            }
        }
    }
}
