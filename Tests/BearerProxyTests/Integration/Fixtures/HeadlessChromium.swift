import Foundation

/// Debian's `chromium`, headless: loads a page as a browser would, and gives its rendered DOM and
/// a screenshot. Tests fail, not skip, when it is missing: `.ci/run` installs it.
enum HeadlessChromium {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let program = "/usr/bin/chromium"

    /// Where screenshots go: `BEARER_PROXY_TEST_OUTPUT`, or `.build/test-output` in the checkout.
    static var outputDirectory: String {
        if let configured = ProcessInfo.processInfo.environment["BEARER_PROXY_TEST_OUTPUT"] { return configured }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/test-output").path
    }

    /// The DOM after the page loaded (what a person sees, as HTML), and a screenshot at
    /// `screenshot` (PNG) of a `width` x `height` window.
    static func load(_ url: String, screenshot: String, width: Int = 1000, height: Int = 1500) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw Failure(description: "\(program) not found: apt-get install chromium (the status page is tested in a real browser)")
        }
        try FileManager.default.createDirectory(atPath: (screenshot as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: screenshot)
        _ = try run([ "--screenshot=\(screenshot)", "--window-size=\(width),\(height)", url])
        guard FileManager.default.fileExists(atPath: screenshot) else {
            throw Failure(description: "chromium wrote no screenshot for \(url)")
        }
        return try run(["--dump-dom", url])
    }

    private static func run(_ arguments: [String]) throws -> String {
        let profile = NSTemporaryDirectory() + "bearer-proxy-chromium-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        // No sandbox: CI runs as root, where Chromium's sandbox refuses to start. The page is ours.
        // /dev/shm is small in many containers; Chromium then uses /tmp instead.
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
                             "--disable-extensions", "--user-data-dir=\(profile)", "--timeout=10000"] + arguments
        let outputPath = profile + ".out"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw Failure(description: "chromium did not finish within 60 s")
        }
        return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }
}
