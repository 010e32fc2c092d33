@testable import BearerProxy

extension LocalRequest {
    /// The head as received, one string per line, without the CRLFs and the final empty line.
    var headLines: [String] {
        String(decoding: rawHead, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }

    var requestLine: String { headLines.first ?? "" }

    /// Whole field lines ("Name: value") whose name is `name`, in any case, exactly as received.
    func fieldLines(named name: String) -> [String] {
        headLines.dropFirst().filter { line in
            guard let colon = line.firstIndex(of: ":") else { return false }
            return line[..<colon].lowercased() == name.lowercased()
        }
    }

    var rawHeadText: String { String(decoding: rawHead, as: UTF8.self) }
}
