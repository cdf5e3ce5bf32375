import Foundation
import XCTest
import Weights

/// Found by fuzz-pth and fuzz-legacy-pth (LeakSanitizer): a pickle may put a container inside itself,
/// as Python allows (`pickle.loads(b"\x80\x02]2a.")` is `[[...]]`: EMPTY_LIST, DUP, APPEND). The
/// containers are classes, so that graph is an ARC cycle and is never freed (Sources/Weights/Pickle.swift,
/// APPEND / APPENDS / SETITEM(S) / ADDITEMS / BUILD onto a container reachable from the value added).
/// A few KB per load, bounded by the file's size, no crash; Tests/Fuzz/lsan.supp suppresses it
/// (leak:PickleMachine) until it is fixed. KNOWN BUG: skipped unless REPLK_KNOWN_BUGS=1; remove the
/// skip and the suppression with the fix (free the machine's containers' contents when the result is
/// dropped, or refuse a container added into itself: no torch checkpoint holds one).
final class PickleCycleTests: XCTestCase {
    func testSelfContainingListIsFreedWhenTheValueIsDropped() throws {
        guard ProcessInfo.processInfo.environment["REPLK_KNOWN_BUGS"] == "1" else {
            throw XCTSkip("known bug: pickle container cycles leak (set REPLK_KNOWN_BUGS=1 to run)")
        }
        weak var list: PickleList?
        do {
            let value = try Pickle.load([0x80, 0x02, 0x5D, 0x32, 0x61, 0x2E], file: "cycle.pkl")
            guard case let .list(l) = value else { return XCTFail("not a list: \(value)") }
            XCTAssertTrue(l.items.count == 1)
            list = l
        } catch {
            // Refusing the cycle with an error is a fix too.
            XCTAssertTrue("\(error)".contains("cycle.pkl"), "\(error)")
        }
        XCTAssertNil(list, "a self-containing list outlives its value: an ARC cycle")
    }
}
