import RepLKCJSONC
import RepLKFormats
import Foundation

/// COCO annotation and result files (coco-eval.md §1–2), parsed with json-c one element at a time.
public enum COCOFile {
    static func segmentation(_ o: OpaquePointer?, _ file: JSONFile, _ at: Int, _ what: String) throws -> COCOSegmentation? {
        guard let o else { return nil }
        switch J.type(o) {
        case json_type_array:
            var rings = [[Double]]()
            for r in J.array(o)! {
                guard let ring = J.doubles(r) else { throw file.error(at: at, "\(what): polygon ring is not a list of numbers") }
                rings.append(ring)
            }
            return .polygons(rings)
        case json_type_object:
            guard let size = J.array(J.member(o, "size")), size.count == 2, let h = J.int(size[0]), let w = J.int(size[1]),
                  h >= 0, w >= 0 else {
                throw file.error(at: at, "\(what): RLE needs \"size\": [height, width]")
            }
            let (pixels, overflow) = h.multipliedReportingOverflow(by: w)
            guard !overflow else { throw file.error(at: at, "\(what): RLE size \(h)×\(w) overflows a 64-bit pixel count") }
            let counts = J.member(o, "counts")
            if J.type(counts) == json_type_string, let counts {
                let text = UnsafeBufferPointer(start: UnsafeRawPointer(json_object_get_string(counts))!.assumingMemoryBound(to: UInt8.self),
                                               count: Int(json_object_get_string_len(counts)))
                guard let r = RLE(compressedCounts: text, height: h, width: w) else {
                    throw file.error(at: at, "\(what): compressed RLE counts are malformed or do not cover \(h)×\(w) pixels")
                }
                return .rle(r)
            }
            if let list = J.array(counts) {
                var c = [UInt32]()
                c.reserveCapacity(list.count)
                var total = 0
                for v in list {
                    guard let n = J.int(v), n >= 0, n <= Int(UInt32.max) else { throw file.error(at: at, "\(what): RLE counts must be integers in 0...\(UInt32.max)") }
                    c.append(UInt32(n))
                    total += n
                    guard total <= pixels else { break }
                }
                guard total == pixels else {
                    throw file.error(at: at, "\(what): RLE counts cover \(total > pixels ? "more than \(pixels)" : String(total)) pixels, size says \(h)×\(w)")
                }
                return .rle(RLE(height: h, width: w, counts: c))
            }
            throw file.error(at: at, "\(what): RLE needs \"counts\" (a string or a list)")
        case json_type_null:
            return nil
        default:
            throw file.error(at: at, "\(what): segmentation must be polygons or an RLE object")
        }
    }

    static func box(_ o: OpaquePointer?, _ file: JSONFile, _ at: Int, _ what: String) throws -> [Double]? {
        guard let o, J.type(o) != json_type_null else { return nil }
        guard let b = J.doubles(o), b.count == 4 else { throw file.error(at: at, "\(what): bbox must be [x, y, w, h]") }
        return b
    }

    /// Reads a ground-truth file (`instances_val2017.json` and the like).
    public static func groundTruth(path: String) throws -> COCOGroundTruth {
        try groundTruth(try JSONFile(path: path))
    }

    /// Reads a ground-truth file's bytes from memory; `name` stands for its path in errors.
    public static func groundTruth(data: some Collection<UInt8>, name: String) throws -> COCOGroundTruth {
        try groundTruth(JSONFile(bytes: data, name: name))
    }

    static func groundTruth(_ file: JSONFile) throws -> COCOGroundTruth {
        let path = file.path
        var images = [COCOImage](), categories = [COCOCategory](), annotations = [COCOAnnotation]()
        var sawImages = false, sawCategories = false, sawAnnotations = false
        try file.forEachTopLevelMember { key, p in
            switch key {
            case "images":
                sawImages = true
                return try file.forEachElement(ofArrayAt: p) { s, e in
                    try file.parse(s, e) { o in
                        guard let id = J.int(J.member(o, "id")) else { throw file.error(at: s, "image without an integer \"id\"") }
                        guard let w = J.int(J.member(o, "width")), let h = J.int(J.member(o, "height")), w > 0, h > 0 else {
                            throw file.error(at: s, "image \(id) lacks a positive width and height")
                        }
                        images.append(COCOImage(id: id, width: w, height: h, fileName: J.string(J.member(o, "file_name")) ?? ""))
                    }
                }
            case "categories":
                sawCategories = true
                return try file.forEachElement(ofArrayAt: p) { s, e in
                    try file.parse(s, e) { o in
                        guard let id = J.int(J.member(o, "id")) else { throw file.error(at: s, "category without an integer \"id\"") }
                        categories.append(COCOCategory(id: id, name: J.string(J.member(o, "name")) ?? "\(id)"))
                    }
                }
            case "annotations":
                sawAnnotations = true
                return try file.forEachElement(ofArrayAt: p) { s, e in
                    try file.parse(s, e) { o in
                        guard let id = J.int(J.member(o, "id")) else { throw file.error(at: s, "annotation without an integer \"id\"") }
                        let what = "annotation \(id)"
                        guard let img = J.int(J.member(o, "image_id")), let cat = J.int(J.member(o, "category_id")) else {
                            throw file.error(at: s, "\(what) lacks image_id or category_id")
                        }
                        guard let crowd = J.int(J.member(o, "iscrowd")) else { throw file.error(at: s, "\(what) lacks \"iscrowd\"") }
                        guard let area = J.double(J.member(o, "area")) else { throw file.error(at: s, "\(what) lacks \"area\"") }
                        guard let bbox = try box(J.member(o, "bbox"), file, s, what) else { throw file.error(at: s, "\(what) lacks \"bbox\"") }
                        annotations.append(COCOAnnotation(id: id, imageId: img, categoryId: cat, bbox: bbox, area: area,
                                                          isCrowd: crowd != 0,
                                                          segmentation: try segmentation(J.member(o, "segmentation"), file, s, what)))
                    }
                }
            default:
                return try file.skipValue(at: p)
            }
        }
        guard sawImages, sawCategories, sawAnnotations else {
            throw DatasetError.invalid(path: path, detail: "not a COCO annotation file: needs \"images\", \"annotations\" and \"categories\"")
        }
        return COCOGroundTruth(images: images, categories: categories, annotations: annotations, source: path)
    }

    /// Reads a results file: a JSON array of detections. Scores may be any JSON number, NaN and
    /// ±Infinity included (Python's `json` writes and reads those); a detection without a numeric
    /// score is an error (pycocotools fails on it when it sorts by score).
    public static func results(path: String) throws -> [COCODetection] {
        try results(try JSONFile(path: path))
    }

    /// Reads a results file's bytes from memory; `name` stands for its path in errors.
    public static func results(data: some Collection<UInt8>, name: String) throws -> [COCODetection] {
        try results(JSONFile(bytes: data, name: name))
    }

    static func results(_ file: JSONFile) throws -> [COCODetection] {
        var out = [COCODetection]()
        var p = 0
        file.skipSpace(&p)
        guard p < file.bytes.count, file.bytes[p] == UInt8(ascii: "[") else {
            throw file.error(at: p, "a COCO results file is a JSON array of detections")
        }
        let end = try file.forEachElement(ofArrayAt: p) { s, e in
            try file.parse(s, e) { o in
                guard J.type(o) == json_type_object else { throw file.error(at: s, "detection is not an object") }
                guard let img = J.int(J.member(o, "image_id")), let cat = J.int(J.member(o, "category_id")) else {
                    throw file.error(at: s, "detection lacks an integer image_id or category_id")
                }
                guard let score = J.double(J.member(o, "score")) else { throw file.error(at: s, "detection lacks a numeric \"score\"") }
                out.append(COCODetection(imageId: img, categoryId: cat, score: score,
                                         bbox: try box(J.member(o, "bbox"), file, s, "detection"),
                                         segmentation: try segmentation(J.member(o, "segmentation"), file, s, "detection")))
            }
        }
        var q = end
        file.skipSpace(&q)
        if q < file.bytes.count { throw file.error(at: q, "unexpected text after the results array") }
        return out
    }
}
