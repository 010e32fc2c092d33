import Foundation
import Testing

/// Keeps the folder table of docs/architecture.md true: a folder of Sources/BearerProxy may use
/// only the folders listed for it, and the listed arrows have no cycle.
@Suite("Architecture: folder dependencies")
struct ArchitectureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sources = root.appendingPathComponent("Sources/BearerProxy")

    /// folder -> the folders it may use, from the table in docs/architecture.md.
    static func documentedArrows() throws -> [String: Set<String>] {
        let whole = try String(contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        // The table of the section "Folders and who may use whom", up to the next section.
        guard let section = whole.range(of: "## Folders and who may use whom") else { return [:] }
        let text = whole[section.upperBound...].split(separator: "\n## ", maxSplits: 1).first ?? ""
        var arrows: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| ") && !line.hasPrefix("| folder") && !line.hasPrefix("|---") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            arrows[cells[1]] = Set(cells[3].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        return arrows
    }

    /// Swift files of one folder, without comment lines.
    static func code(of folder: String) throws -> [(file: String, text: String)] {
        let directory = sources.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }.sorted().map { name in
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            let code = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
            return (name, code.joined(separator: "\n"))
        }
    }

    /// The types a folder declares at the top level of its files.
    static func declaredTypes(in files: [(file: String, text: String)]) -> Set<String> {
        let declaration = /^(?:public |private |fileprivate |internal )?(?:final )?(?:struct|enum|class|protocol|actor|typealias) ([A-Z][A-Za-z0-9]*)/
        var types: Set<String> = []
        for (_, text) in files {
            for line in text.split(separator: "\n") {
                if let match = line.firstMatch(of: declaration) { types.insert(String(match.1)) }
            }
        }
        return types
    }

    @Test("every folder uses only the folders docs/architecture.md lists for it, and the list has no cycle")
    func folderArrows() throws {
        let arrows = try Self.documentedArrows()
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: Self.sources.appendingPathComponent($0).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
        #expect(Set(folders) == Set(arrows.keys), "the table lists exactly the folders of Sources/BearerProxy")

        let code = try Dictionary(uniqueKeysWithValues: folders.map { ($0, try Self.code(of: $0)) })
        let types = code.mapValues(Self.declaredTypes)
        for user in folders {
            for used in folders where used != user {
                for type in types[used] ?? [] {
                    let word = try Regex("\\b\(type)\\b")
                    for (file, text) in code[user] ?? [] where text.contains(word) {
                        #expect(arrows[user]?.contains(used) == true,
                                "\(user)/\(file) uses \(type) from \(used), which docs/architecture.md does not allow")
                    }
                }
            }
        }

        // No cycle: repeatedly remove folders that use nothing left.
        var remaining = arrows
        while let leaf = remaining.first(where: { $0.value.isDisjoint(with: remaining.keys) })?.key {
            remaining[leaf] = nil
        }
        #expect(remaining.isEmpty, "the documented arrows have a cycle among \(remaining.keys.sorted())")
    }
}
