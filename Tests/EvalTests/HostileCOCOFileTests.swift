import Foundation
import XCTest
import RepLKDatasets
import RepLKEval
import TestSupport

/// The COCO annotation and results readers on bytes in memory (the entry points fuzzers use) and on
/// hostile content: NaN scores, sizes whose product overflows, nulls inside number lists, integers
/// json-c cannot hold.
final class HostileCOCOFileTests: XCTestCase {
    func gt(_ annotations: String, images: String = #"{"id": 1, "width": 100, "height": 100}"#) -> [UInt8] {
        Array(#"{"images": [\#(images)], "categories": [{"id": 1, "name": "thing"}], "annotations": [\#(annotations)]}"#.utf8)
    }

    func ann(_ extra: String, bbox: String = "[0, 0, 10, 10]") -> String {
        #"{"id": 1, "image_id": 1, "category_id": 1, "bbox": \#(bbox), "area": 100, "iscrowd": 0\#(extra)}"#
    }

    func testReadersTakeBytesInMemoryAndGiveWhatTheyGiveFromFiles() throws {
        let gtPath = Fixtures.path("coco/gt_1.json"), dtPath = Fixtures.path("coco/dt_1.json")
        let fromMemory = try COCOFile.groundTruth(data: try Data(contentsOf: URL(fileURLWithPath: gtPath)), name: "gt_1.json")
        let fromFile = try COCOFile.groundTruth(path: gtPath)
        XCTAssertEqual(fromMemory.source, "gt_1.json")
        XCTAssertEqual(fromFile.source, gtPath)
        XCTAssertEqual(fromMemory.annotations.map(\.id), fromFile.annotations.map(\.id))
        let dets = try COCOFile.results(data: Array(try Data(contentsOf: URL(fileURLWithPath: dtPath))), name: "dt_1.json")
        XCTAssertEqual(dets.map(\.score), try COCOFile.results(path: dtPath).map(\.score))
        for type in [COCOIoUType.bbox, .segm] {
            let a = try COCOEvaluator(groundTruth: fromMemory, iouType: type), b = try COCOEvaluator(groundTruth: fromFile, iouType: type)
            try a.add(dets); try b.add(try COCOFile.results(path: dtPath))
            XCTAssertEqual(a.summary().stats.map(\.bitPattern), b.summary().stats.map(\.bitPattern))
        }
        // Errors name the given name, with line and column.
        XCTAssertThrowsError(try COCOFile.results(data: Array("[{]".utf8), name: "mem.json")) {
            XCTAssertTrue("\($0)".hasPrefix("mem.json:1:"), "\($0)")
        }
        XCTAssertThrowsError(try COCOFile.groundTruth(data: [UInt8](), name: "empty.json")) {
            XCTAssertEqual("\($0)", "empty.json:1:1: malformed JSON: expected a JSON object ('{')")
        }
    }

    func testNaNAndInfiniteScoresAreReadAsPythonReadsThemAndMissingScoresAreErrors() throws {
        // Python's json writes and reads NaN, Infinity and -Infinity; 1e999 reads as inf.
        let dets = try COCOFile.results(data: Array(#"""
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": NaN},
             {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": Infinity},
             {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": -Infinity},
             {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 1e999}]
            """#.utf8), name: "dt.json")
        XCTAssertTrue(dets[0].score.isNaN)
        XCTAssertEqual(dets[1...].map(\.score), [.infinity, -.infinity, .infinity])
        // pycocotools fails on a detection without a number to sort by (KeyError / TypeError).
        for bad in [#""score": null, "#, "", #""score": "0.5", "#] {
            let text = #"[{"image_id": 1, "category_id": 1, \#(bad)"bbox": [0, 0, 10, 10]}]"#
            XCTAssertThrowsError(try COCOFile.results(data: Array(text.utf8), name: "dt.json")) {
                XCTAssertEqual("\($0)", #"dt.json:1:2: malformed JSON: detection lacks a numeric "score""#)
            }
        }
        // The hand-derived NaN case of HostileCOCOTests, through the readers.
        let truth = try COCOFile.groundTruth(data: Array(#"""
            {"images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
             "categories": [{"id": 1}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
                             {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "area": 100, "iscrowd": 0},
                             {"id": 3, "image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}]}
            """#.utf8), name: "gt.json")
        let results = try COCOFile.results(data: Array(#"""
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": NaN},
             {"image_id": 1, "category_id": 1, "bbox": [80, 80, 10, 10], "score": 0.9},
             {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.8},
             {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.85},
             {"image_id": 2, "category_id": 1, "bbox": [80, 80, 10, 10], "score": NaN}]
            """#.utf8), name: "dt.json")
        let ev = try COCOEvaluator(groundTruth: truth, iouType: .bbox)
        try ev.add(results)
        let stats = ev.summary().stats
        XCTAssertEqual(Array(stats[0..<6]), [0.75, 0.75, 0.75, 0.75, -1, -1])
        XCTAssertEqual(stats[6], 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(Array(stats[7..<12]), [1, 1, 1, -1, -1])
    }

    func testRLESizesWhoseProductOverflowsAreErrorsNamingTheFile() {
        // Int64(h) * Int64(w) and h * w trapped on these.
        let cases: [(String, String)] = [
            (#", "segmentation": {"size": [4294967296, 4294967296], "counts": "0"}"#, "RLE size 4294967296×4294967296 overflows a 64-bit pixel count"),
            (#", "segmentation": {"size": [3037000500, 3037000500], "counts": [0, 1]}"#, "RLE size 3037000500×3037000500 overflows a 64-bit pixel count"),
            (#", "segmentation": {"size": [10, 10], "counts": [4294967296]}"#, "RLE counts must be integers in 0...4294967295"),
            (#", "segmentation": {"size": [10, 10], "counts": [-1, 101]}"#, "RLE counts must be integers in 0...4294967295"),
            (#", "segmentation": {"size": [10, 10], "counts": [4294967295, 4294967295, 1]}"#, "RLE counts cover more than 100 pixels, size says 10×10"),
            (#", "segmentation": {"size": [10, 10], "counts": "0000"}"#, "compressed RLE counts are malformed or do not cover 10×10 pixels"),
            (#", "segmentation": {"size": [-10, -10], "counts": "1"}"#, "RLE needs \"size\": [height, width]"),
        ]
        for (extra, problem) in cases {
            XCTAssertThrowsError(try COCOFile.groundTruth(data: gt(ann(extra)), name: "gt.json")) {
                XCTAssertTrue("\($0)".hasPrefix("gt.json:1:"), "\($0)")
                XCTAssertTrue("\($0)".hasSuffix("malformed JSON: annotation 1: " + problem), "\($0)")
            }
        }
    }

    func testNullsInsideNumberListsAreErrorsNotDropped() {
        // json-c holds no object for null, and the list used to close up around it: this box read
        // as [0, 10, 10, 5].
        XCTAssertThrowsError(try COCOFile.groundTruth(data: gt(ann("", bbox: "[null, 0, 10, 10, 5]")), name: "gt.json")) {
            XCTAssertTrue("\($0)".hasSuffix("annotation 1: bbox must be [x, y, w, h]"), "\($0)")
        }
        XCTAssertThrowsError(try COCOFile.groundTruth(data: gt(ann(#", "segmentation": [[0, 0, 10, null, 0, 10, 10]]"#)), name: "gt.json")) {
            XCTAssertTrue("\($0)".hasSuffix("annotation 1: polygon ring is not a list of numbers"), "\($0)")
        }
        XCTAssertThrowsError(try COCOFile.groundTruth(data: gt(ann(#", "segmentation": {"size": [null, 10, 10], "counts": ""}"#)), name: "gt.json"))
    }

    func testIntegersBeyondInt64AreErrorsNotClampedTogether() throws {
        // json-c clamps both to Int64.max: two images silently became one.
        let images = #"{"id": 9223372036854775808, "width": 100, "height": 100}, {"id": 9223372036854775809, "width": 100, "height": 100}"#
        XCTAssertThrowsError(try COCOFile.groundTruth(data: gt("", images: images), name: "gt.json")) {
            XCTAssertTrue("\($0)".hasSuffix(#"malformed JSON: image without an integer "id""#), "\($0)")
        }
        XCTAssertThrowsError(try COCOFile.results(data: Array(#"[{"image_id": -9223372036854775809, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]"#.utf8), name: "dt.json"))
        XCTAssertEqual(try COCOFile.groundTruth(data: gt("", images: #"{"id": 9223372036854775806, "width": 1, "height": 1}"#), name: "gt.json").images[0].id,
                       9_223_372_036_854_775_806)
    }

    func testValuesThatWouldMakeJSONCAllocateGigabytesAreRefused() throws {
        // 10 MB of "{}," inside one detection: json-c spends ~750 bytes per object, 2.5 GB here.
        let n = 3_300_000
        var text = Array(#"[{"image_id": 1, "category_id": 1, "score": 1, "bbox": [0, 0, 1, 1], "extra": ["#.utf8)
        text.reserveCapacity(text.count + 3 * n + 4)
        for i in 0..<n { text += i + 1 < n ? Array("{},".utf8) : Array("{}".utf8) }
        text += Array("]}]".utf8)
        XCTAssertLessThan(text.count, 10_000_100)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let before = usage.ru_maxrss
        XCTAssertThrowsError(try COCOFile.results(data: text, name: "dt.json")) {
            XCTAssertEqual("\($0)", "dt.json:1:2: malformed JSON: this value holds 3300001 JSON objects, more than the 131072 one value may hold (memory bound)")
        }
        getrusage(RUSAGE_SELF.rawValue, &usage)
        // The process's peak: only a rise above what earlier tests reached shows here.
        XCTAssertLessThan(usage.ru_maxrss - before, 1 << 20, "peak RSS grew by \(usage.ru_maxrss - before) KB")
        // Top-level members the reader does not use are checked element by element, so a long
        // array of small objects there is fine.
        let info = "[" + Array(repeating: #"{"a": 1}"#, count: 200_000).joined(separator: ",") + "]"
        let truth = Array(#"{"info": \#(info), "images": [], "categories": [], "annotations": []}"#.utf8)
        XCTAssertEqual(try COCOFile.groundTruth(data: truth, name: "gt.json").images.count, 0)
    }
}
