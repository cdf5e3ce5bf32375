import Foundation
import XCTest

/// The generated sources are what their generators write today: each records in its header the
/// command that made it, and this test runs that command (into a temporary file) and fails on any
/// difference, so an edit to a generator or its inputs without regenerating cannot go unnoticed.
final class GeneratedCodeTests: XCTestCase {
    /// The repository's root, from this file's path (Tests/EngineTests/…).
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func assertCurrent(_ generated: String, generator: String, line: UInt = #line) throws {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { throw XCTSkip("no python3 to run \(generator) (.ci/run installs it)") }
        let committed = try String(contentsOfFile: "\(root)/\(generated)", encoding: .utf8)
        XCTAssertTrue(committed.contains("`python3 \(generator)`"), "\(generated) does not record the command that made it", line: line)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString).swift").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [generator, out]
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(generator) failed", line: line)
        let fresh = try String(contentsOfFile: out, encoding: .utf8)
        if fresh != committed {
            let a = committed.split(separator: "\n", omittingEmptySubsequences: false), b = fresh.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            XCTFail("\(generated) is not what `python3 \(generator)` writes now (first difference at line \(first + 1)); run it from the repository root", line: line)
        }
    }

    func testDepthwiseTilesAreWhatTheirGeneratorWrites() throws {
        try assertCurrent("Sources/KernelsV4/Generated/DepthwiseTiles.swift", generator: "Sources/KernelsV4/generate_depthwise_tiles.py")
    }

    func testClassListsAreWhatTheirGeneratorWrites() throws {
        try assertCurrent("Datasets/Readers/Generated/ClassLists.swift", generator: "Datasets/Metadata/generate.py")
    }
}
