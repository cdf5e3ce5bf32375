import Foundation
import XCTest
import RepLKImaging
import TestSupport

/// `infer` takes inputs as users give them (issue 28): folders (their images found recursively,
/// sorted), `@list` files of paths, and a mix; `--keep-going` skips bad images, lists them at the
/// end and exits 1; `--quiet` prints no progress; `--opacity` is checked.
final class InferInputsTests: XCTestCase {
    let demo = Fixtures.path("../../Datasets/Demo")
    var detCheckpoint: String { demo + "/det/cascade_mask_rcnn_replknet_shapes_coco.pth" }
    var det: [String] { ["infer", "--checkpoint", detCheckpoint, "--scale", "256,256"] }

    /// photos/a.jpg, photos/sub/b.jpg, photos/notes.txt, other/c.jpg, and other/list.txt naming c.jpg.
    func layout() throws -> (photos: String, list: String) {
        let dir = Fixtures.temporaryDirectory()
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/photos/sub", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/other", withIntermediateDirectories: true)
        try fm.copyItem(atPath: demo + "/coco/val2017/000000000001.jpg", toPath: dir + "/photos/sub/b.jpg")
        try fm.copyItem(atPath: demo + "/coco/val2017/000000000002.jpg", toPath: dir + "/photos/a.jpg")
        try fm.copyItem(atPath: demo + "/coco/val2017/000000000003.jpg", toPath: dir + "/other/c.jpg")
        try "not an image".write(toFile: dir + "/photos/notes.txt", atomically: true, encoding: .utf8)
        try "# images\n\(dir)/other/c.jpg\n\n".write(toFile: dir + "/other/list.txt", atomically: true, encoding: .utf8)
        return (dir + "/photos", dir + "/other/list.txt")
    }

    func testInferTakesFoldersListsAndAMix() throws {
        let (photos, list) = try layout()
        let out = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-det", det + ["--out", out, photos, "@" + list])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Sorted within the folder (a.jpg before sub/b.jpg), then the list's c.jpg.
        let inputs = r.stdout.split(separator: "\n").map { String($0.split(separator: ":")[0]) }
        XCTAssertEqual(inputs.map { ($0 as NSString).lastPathComponent }, ["a.jpg", "b.jpg", "c.jpg"], r.stdout)
        for f in ["photos/a.jpg", "photos/sub/b.jpg", "other/c.jpg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), "\(f) in \(out)")
        }
        // Errors name the list or folder in one line.
        let missing = try Tools.run("replk-det", det + ["--out", out, "@/nonexistent/list.txt"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "replk-det: error: /nonexistent/list.txt: cannot read the list of images: no such file\n")
        let empty = Fixtures.temporaryDirectory()
        let none = try Tools.run("replk-det", det + ["--out", out, empty])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("\(empty): folder holds no JPEG or PNG images"), none.stderr)
    }

    func testKeepGoingSkipsBadImagesListsThemAndExitsOne() throws {
        let (photos, _) = try layout()
        try Data("JFIF but not really".utf8).write(to: URL(fileURLWithPath: photos + "/0-broken.jpg"))
        let out = Fixtures.temporaryDirectory()
        let stop = try Tools.run("replk-det", det + ["--out", out, photos])
        XCTAssertEqual(stop.status, 1)
        XCTAssertEqual(stop.stderr.split(separator: "\n").count, 1, stop.stderr)
        XCTAssertTrue(stop.stderr.contains("0-broken.jpg"), stop.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/a.jpg"))
        for (tool, args) in [("replk-det", det + ["--out", out]),
                             ("replk-cls", ["infer", "--checkpoint", demo + "/cls/replknet_shapes_cls.pth", "--input-size", "128"]),
                             ("replk-seg", ["infer", "--data", "ade20k", "--checkpoint", demo + "/seg/upernet_replknet_shapes_ade.pth",
                                            "--scale", "256,256", "--out", Fixtures.temporaryDirectory()])] {
            let r = try Tools.run(tool, args + ["--keep-going", photos])
            XCTAssertEqual(r.status, 1, "\(tool): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("infer ") }
            XCTAssertEqual(lines.first, "\(tool): skipped 1 of 3 image(s):", "\(tool): \(r.stderr)")
            XCTAssertEqual(lines.count, 2, "\(tool): \(r.stderr)")
            XCTAssertTrue(lines.last?.contains("0-broken.jpg") == true, r.stderr)
            XCTAssertTrue(r.stdout.contains("a.jpg") && r.stdout.contains("b.jpg"), "\(tool): \(r.stdout)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/a.jpg"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/sub/b.jpg"))
    }

    func testQuietInferPrintsNoProgress() throws {
        let (photos, _) = try layout()
        let loud = try Tools.run("replk-det", det + ["--out", Fixtures.temporaryDirectory(), photos])
        XCTAssertEqual(loud.status, 0, loud.stderr)
        XCTAssertTrue(loud.stderr.contains("infer 2/2"), loud.stderr)
        let quiet = try Tools.run("replk-det", det + ["--out", Fixtures.temporaryDirectory(), "--quiet", photos])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertEqual(quiet.stderr, "")
        XCTAssertEqual(quiet.stdout, "")
    }

    func testOpacityOutsideZeroToOneIsAUsageError() throws {
        let photo = demo + "/coco/val2017/000000000001.jpg"
        for (tool, args) in [("replk-det", det), ("replk-seg", ["infer", "--data", "ade20k", "--checkpoint", demo + "/seg/upernet_replknet_shapes_ade.pth"])] {
            let r = try Tools.run(tool, args + ["--out", Fixtures.temporaryDirectory(), "--opacity", "1.5", photo])
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("--opacity must be a number from 0 to 1, not 1.5"), r.stderr)
        }
    }

    /// The drawing of a 1333×800 photo through the tool: the size of the photo, labels readable
    /// (the library check is DetectionDrawingTests), masks left out with --opacity 0.
    func testDetectionDrawingOfA1333x800Photo() throws {
        let dir = Fixtures.temporaryDirectory()
        let photo = try Image(contentsOf: demo + "/coco/val2017/000000000001.jpg").resizedBilinearCV(width: 1333, height: 800)
        try photo.write(to: dir + "/wide.png")
        let out = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-det", det + ["--out", out, "--opacity", "0", dir + "/wide.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let drawn = try Image(contentsOf: out + "/wide.jpg")
        XCTAssertEqual([drawn.width, drawn.height], [1333, 800])
    }

    /// Without a TrueType font the drawing is still made, with the bitmap font, and one note says why.
    func testMissingFontIsOneNoteAndTheBitmapFont() throws {
        let out = Fixtures.temporaryDirectory()
        let r = try Tools.run("replk-det", det + ["--out", out, "--quiet", demo + "/coco/val2017/000000000001.jpg"],
                              environment: ["REPLK_FONT": "/nonexistent/font.ttf"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "replk-det: note: no TrueType font at /nonexistent/font.ttf; text is drawn with the built-in bitmap font (install fonts-dejavu-core, or set REPLK_FONT=FILE.ttf)\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/000000000001.jpg"))
    }
}
