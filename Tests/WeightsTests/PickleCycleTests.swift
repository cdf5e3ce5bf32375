import Foundation
import XCTest
import RepLKWeights

/// Found by fuzz-pth and fuzz-legacy-pth (LeakSanitizer): a pickle may put a container inside itself,
/// as Python allows (`pickle.loads(b"\x80\x02]2a.")` is `[[...]]`: EMPTY_LIST, DUP, APPEND). The
/// containers are classes, so such a graph was an ARC cycle that was never freed. No checkpoint
/// holds one: the load is refused with an error naming the file, and every container it made is
/// emptied, so nothing outlives it (which the fuzzers' LeakSanitizer checks: Tests/Fuzz/lsan.supp
/// no longer suppresses it).
final class PickleCycleTests: XCTestCase {
    /// Loads `bytes`, expecting a one-line error naming the file.
    func assertRefused(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Pickle.load(bytes, file: "cycle.pkl"), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains("cycle.pkl"), "\(error)", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "\(error)", file: file, line: line)
        }
    }

    func testContainersHoldingThemselvesAreRefused() {
        // EMPTY_LIST DUP APPEND STOP: [[...]].
        assertRefused([0x80, 0x02, 0x5D, 0x32, 0x61, 0x2E])
        // The same cycle two lists long, through the memo: a = []; b = [a]; a.append(b).
        // EMPTY_LIST BINPUT 0, EMPTY_LIST BINGET 0 APPEND (b = [a]), BINPUT 1, POP,
        // BINGET 0 BINGET 1 APPEND (a.append(b)), STOP.
        assertRefused([0x80, 0x02, 0x5D, 0x71, 0x00, 0x5D, 0x68, 0x00, 0x61, 0x71, 0x01, 0x30,
                               0x68, 0x00, 0x68, 0x01, 0x61, 0x2E])
        // A dict holding itself as a value (EMPTY_DICT DUP BININT1 0 SWAP… SETITEM): d[0] = d.
        // EMPTY_DICT BINPUT 0 BININT1 0 BINGET 0 SETITEM STOP.
        assertRefused([0x80, 0x02, 0x7D, 0x71, 0x00, 0x4B, 0x00, 0x68, 0x00, 0x73, 0x2E])
    }

    func testNestedListWithoutACycleLoadsAndIsFreedWhenDropped() throws {
        // [[...]] built and then cut (no STOP) is refused like any truncated pickle.
        XCTAssertThrowsError(try Pickle.load([0x80, 0x02, 0x5D, 0x32, 0x61], file: "cut.pkl"))
        weak var made: PickleList?
        do {
            let value = try Pickle.load([0x80, 0x02, 0x5D, 0x5D, 0x61, 0x2E], file: "ok.pkl")   // [[]]
            guard case let .list(l) = value else { return XCTFail("not a list: \(value)") }
            XCTAssertEqual(l.items.count, 1)
            made = l
        }
        XCTAssertNil(made, "a list without a cycle outlives its value")
    }
}
