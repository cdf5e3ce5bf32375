import Foundation
import XCTest

/// The inputs of Tests/Fixtures/fuzz-regressions/<target>/, kept for each fuzz target of Tests/Fuzz:
/// every input that ever made a fuzzer fail (libFuzzer's crash-*, leak-*, timeout-*, oom-* files,
/// kept as they are) and hand-made mutations of the seeds (Tests/Fuzz/make_regressions.py): refused-*
/// must be refused with a one-line error naming the file, accepted-* must be read without one.
public enum FuzzRegressions {
    public enum Expectation { case refused, accepted, noCrash }

    public struct Input {
        public let path: String
        public let bytes: [UInt8]
        public let expectation: Expectation
        public var name: String { (path as NSString).lastPathComponent }
    }

    /// The inputs of one fuzz target's folder, sorted by name; fails the test when there are none.
    public static func inputs(_ target: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Input] {
        let dir = Fixtures.path("fuzz-regressions/" + target)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertFalse(names.isEmpty, "no regression inputs in \(dir)", file: file, line: line)
        return try names.map { n in
            let path = dir + "/" + n
            let expectation: Expectation = n.hasPrefix("refused-") ? .refused : n.hasPrefix("accepted-") ? .accepted : .noCrash
            return Input(path: path, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))), expectation: expectation)
        }
    }

    /// Runs `body` on each input of `target` and checks the outcome its name asks for. `body` throws
    /// to refuse; `mustName` is false for errors of APIs that see no file (RLE, polygons).
    public static func replay(_ target: String, mustName: Bool = true, file: StaticString = #filePath, line: UInt = #line,
                              _ body: (Input) throws -> Void) throws {
        for input in try inputs(target, file: file, line: line) {
            do {
                try body(input)
                XCTAssertNotEqual(input.expectation, .refused, "\(input.name) was not refused", file: file, line: line)
            } catch {
                let text = "\(error)"
                XCTAssertNotEqual(input.expectation, .accepted, "\(input.name): \(text)", file: file, line: line)
                XCTAssertFalse(text.contains("\n"), "\(input.name): more than one line: \(text)", file: file, line: line)
                if mustName {
                    XCTAssertTrue(text.contains(input.path), "\(input.name): the error does not name the file: \(text)", file: file, line: line)
                }
            }
        }
    }
}
