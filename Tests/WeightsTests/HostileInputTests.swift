import Foundation
import XCTest
import TestSupport
import RepLKWeights

/// Crafted checkpoints that crashed the parsers, or made them allocate far more than the file's
/// size, before the checks they exercise. Each must give a one-line WeightsError naming the file.
final class HostileInputTests: XCTestCase {
    let fileName = "hostile.pth"

    /// Asserts that `body` throws a WeightsError whose description is one line, starts with the
    /// file's name and mentions `words`.
    func assertRefused<T>(_ body: @autoclosure () throws -> T, name: String? = nil, _ words: String...,
                          file: StaticString = #filePath, line: UInt = #line) {
        let name = name ?? fileName
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue(error is WeightsError, "not a WeightsError: \(error)", file: file, line: line)
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(name + ": "), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
            for w in words { XCTAssertTrue(text.contains(w), "'\(w)' not in: \(text)", file: file, line: line) }
        }
    }

    func spec(_ key: String = "w", offset: Int = 0, shape: [Int], strides: [Int], numel: Int = 4) -> TensorSpec {
        TensorSpec(key: key, offset: offset, shape: shape, strides: strides, storageNumel: numel)
    }

    // MARK: the crafted files are valid when left alone

    func testCraftedZipLegacyAndZip64CheckpointsLoadFromMemory() throws {
        let t = [spec("a", shape: [2, 2], strides: [2, 1]), spec("b", offset: 1, shape: [2], strides: [2])]
        let storage: [Float] = [1, 2, 3, 4]
        for (form, bytes) in [("zip", torchZip(t, storage: storage).bytes), ("zip64", torchZip(t, storage: storage, zip64: true).bytes),
                              ("legacy", legacyCheckpoint(t, storage: storage))] {
            let sd = try Checkpoint(bytes: bytes, name: form).stateDict()
            XCTAssertEqual(sd.keys, ["a", "b"], form)
            XCTAssertEqual(try sd["a"]!.floats(file: form, key: "a"), [1, 2, 3, 4], form)
            XCTAssertEqual(try sd["b"]!.floats(file: form, key: "b"), [2, 4], form)
        }
        let st = safetensors(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [Float(5), 6].withUnsafeBytes { Array($0) })
        XCTAssertEqual(try SafeTensors.read(bytes: st, name: "st")["x"]!.floats(file: "st", key: "x"), [5, 6])
        XCTAssertEqual(try Checkpoint(bytes: st, name: "st").format, .safetensors)
        let a = try NPY.read(bytes: npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: Array(st.suffix(8))), name: "a.npy")
        XCTAssertEqual(a.values, [5, 6])
    }

    // MARK: 1. pickle nesting

    func testDeeplyNestedPickleIsRefusedWithoutCrashing() {
        let n = 1_000_000
        let lists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E]
        let tuples: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: n) + [0x2E]
        let dicts: [UInt8] = [0x80, 0x02, 0x7D] + Array([[UInt8]](repeating: [0x4E, 0x7D], count: n).joined())
            + [UInt8](repeating: 0x73, count: n) + [0x2E]
        let marks: [UInt8] = [0x80, 0x02] + Array([[UInt8]](repeating: [0x28, 0x4E], count: n).joined())
            + [UInt8](repeating: 0x74, count: n) + [0x2E]
        for (kind, bytes) in [("lists", lists), ("tuples", tuples), ("dicts", dicts), ("marked tuples", marks)] {
            assertRefused(try Pickle.load(bytes, file: kind), name: kind, "nested deeper than 1000 levels")
        }
        // As deep as real data ever gets, and far deeper, still loads.
        let ok: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 999) + [0x2E]
        XCTAssertNoThrow(try Pickle.load(ok, file: "ok"))
    }

    func testDeeplyNestedTorchCheckpointNamesTheFile() {
        var pkl: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 5000)
        pkl.append(0x2E)
        let zip = makeZip([("archive/data.pkl", pkl)])
        assertRefused(try Checkpoint(bytes: zip.bytes, name: fileName), "nested deeper than 1000 levels")
    }

    /// Filling lists after nesting them (through the memo) makes a chain the nesting limit cannot
    /// see; dropping it must not recurse once per link.
    func testListChainBuiltThroughTheMemoIsFreedWithoutRecursion() throws {
        let n = 300_000
        var p: [UInt8] = [0x80, 0x02]
        for _ in 0..<n { p += [0x5D, 0x94, 0x30] }                              // EMPTY_LIST MEMOIZE POP
        for i in 0..<(n - 1) {                                                  // list i += [(list i+1,)]
            p += [0x6A] + le32(i) + [0x6A] + le32(i + 1) + [0x85, 0x61, 0x30]
        }
        p += [0x6A] + le32(0) + [0x2E]
        var value: PickleValue? = try Pickle.load(p, file: "chain")
        var depth = 0
        var cursor = value
        while case let .list(l)? = cursor {
            depth += 1
            guard case let .tuple(t)? = l.items.first else { break }
            cursor = t.first
        }
        cursor = nil
        XCTAssertEqual(depth, n)
        value = nil
        XCTAssertNil(value)
    }

    // MARK: 2. tensor geometry

    func testTensorViewWhoseExtentOverflowsIsRefused() throws {
        let big = Int.max / 2 + 1
        for t in [spec(shape: [2, 2], strides: [big, big]), spec(offset: Int.max, shape: [2], strides: [1])] {
            let sd = try Checkpoint(bytes: torchZip([t], storage: [1, 2, 3, 4]).bytes, name: fileName).stateDict()
            assertRefused(try sd["w"]!.floats(file: fileName, key: "w"), "tensor 'w' has an impossible view")
        }
    }

    func testTensorWhoseElementCountOverflowsIsRefused() {
        let zip = torchZip([spec(shape: [1 << 32, 1 << 32], strides: [0, 0])], storage: [1])
        assertRefused(try Checkpoint(bytes: zip.bytes, name: fileName).stateDict(), "'w'", "element count overflows")
        let rank = torchZip([spec(shape: .init(repeating: 1, count: 65), strides: .init(repeating: 1, count: 65))], storage: [1])
        assertRefused(try Checkpoint(bytes: rank.bytes, name: fileName).stateDict(), "65 dims")
    }

    /// Stride-0 views hold more elements than their storage: 2⁴⁰ floats from one stored float.
    func testRepeatingViewLargerThanTheFileIsRefusedBeforeAllocating() {
        let zip = torchZip([spec(shape: [1 << 20, 1 << 20], strides: [0, 0], numel: 1)], storage: [1])
        assertRefused(try Checkpoint(bytes: zip.bytes, name: fileName).stateDict(), "more than the file's")
        let many = (0..<60).map { spec("v\($0)", shape: [512], strides: [0], numel: 1) }
        assertRefused(try Checkpoint(bytes: torchZip(many, storage: [1]).bytes, name: fileName).stateDict(), "30720 elements")
    }

    func testTensorReadingPastItsStorageOrWithANegativeStorageSizeIsRefused() throws {
        let sd = try Checkpoint(bytes: torchZip([spec(shape: [10], strides: [1])], storage: [1, 2, 3, 4]).bytes, name: fileName).stateDict()
        assertRefused(try sd["w"]!.floats(file: fileName, key: "w"), "reads past its storage")
        let negative = torchZip([spec(shape: [1], strides: [1], numel: -5)], storage: [1])
        assertRefused(try Checkpoint(bytes: negative.bytes, name: fileName), "negative size")
    }

    // MARK: 4. ZIP fields

    func testZip64FieldsBeyondIntOrTheFileAreRefused() {
        let valid = torchZip([spec(shape: [4], strides: [1])], storage: [1, 2, 3, 4], zip64: true)
        let locator = valid.endRecord - 20
        var bytes = valid.bytes
        put64(&bytes, at: locator + 8, .max)                                    // record offset > Int.max
        assertRefused(try Checkpoint(bytes: bytes, name: fileName), "ZIP64 end record offset")
        let record = valid.zip64EndRecord!
        for (field, value) in [(32, UInt64(1) << 40), (40, UInt64(1) << 62), (48, UInt64(1) << 62), (32, .max)] {
            bytes = valid.bytes
            put64(&bytes, at: record + field, value)                            // count, size, offset
            assertRefused(try Checkpoint(bytes: bytes, name: fileName), "exceeds the \(bytes.count)-byte file")
        }
    }

    func testZip64ExtraFieldWithAHugeOffsetIsRefused() {
        for value in [UInt64(Int.max - 5), .max] {
            let extra = le16(1) + le16(8) + le64(value)
            var z = makeZip([("archive/data.pkl", [0x80, 0x02, 0x4E, 0x2E])], centralExtra: ["archive/data.pkl": extra])
            put32(&z.bytes, at: z.centralEntries[0] + 42, 0xFFFF_FFFF)             // local offset in the extra field
            assertRefused(try Checkpoint(bytes: z.bytes, name: fileName), "offset of 'archive/data.pkl'")
        }
    }

    func testZipExtraFieldOverrunningItsEntryIsRefused() {
        let extra = le16(1) + le16(0xFFF0)
        var z = makeZip([("archive/data.pkl", [0x80, 0x02, 0x4E, 0x2E])], centralExtra: ["archive/data.pkl": extra])
        put32(&z.bytes, at: z.centralEntries[0] + 24, 0xFFFF_FFFF)
        assertRefused(try Checkpoint(bytes: z.bytes, name: fileName), "overruns its entry")
    }

    /// A 4 GB data.pkl claimed by a small file used to be zero-filled before the read failed.
    func testStoredEntryWhoseSizesDisagreeIsRefusedBeforeReading() {
        var z = makeZip([("archive/data.pkl", [0x80, 0x02, 0x4E, 0x2E])])
        put32(&z.bytes, at: z.centralEntries[0] + 24, 0xFFFF_FFF0)
        assertRefused(try Checkpoint(bytes: z.bytes, name: fileName), "STORED entry 'archive/data.pkl' claims 4294967280 bytes but holds 4")
        var past = makeZip([("archive/data.pkl", [0x80, 0x02, 0x4E, 0x2E])])
        put32(&past.bytes, at: past.centralEntries[0] + 20, 0x7FFF_FFFF)
        put32(&past.bytes, at: past.centralEntries[0] + 24, 0x7FFF_FFFF)
        assertRefused(try Checkpoint(bytes: past.bytes, name: fileName), "ends past the end of the file")
    }

    func testCentralDirectoryCountLargerThanTheDirectoryIsRefused() {
        var z = makeZip([("archive/data.pkl", [0x80, 0x02, 0x4E, 0x2E])])
        z.bytes.replaceSubrange((z.endRecord + 8)..<(z.endRecord + 12), with: le16(0xFFFF) + le16(0xFFFF))
        assertRefused(try Checkpoint(bytes: z.bytes, name: fileName), "65535 entries cannot fit")
    }

    // MARK: 5. lengths that sized an allocation before the bounds check

    func testReadPastTheEndIsRefusedBeforeAllocating() throws {
        let path = Fixtures.temporaryDirectory() + "/small.bin"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        for file in [try BinaryFile(path: path), BinaryFile(bytes: [1, 2, 3], name: path)] {
            assertRefused(try file.bytes(at: 0, count: 1 << 40), name: path, "needs 1099511627776 bytes at offset 0 of a 3-byte file")
            assertRefused(try file.bytes(at: Int.max, count: Int.max), name: path, "truncated")
            XCTAssertEqual(try file.bytes(at: 1, count: 2), [2, 3])
        }
    }

    func testNPYVersion2HeaderLengthLargerThanTheFileIsRefused() {
        let bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0xF0, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0x20, count: 16)
        XCTAssertEqual(bytes.count, 28)
        assertRefused(try NPY.read(bytes: bytes, name: "a.npy"), name: "a.npy", "npy header of 4294967280 bytes exceeds the 28-byte file")
    }

    // MARK: 6. legacy format

    func testLegacyStorageSizeBeyondIntIsRefused() {
        let t = [spec(shape: [4], strides: [1])]
        for claimed in [UInt64.max, UInt64(Int.max), 5] {
            assertRefused(try Checkpoint(bytes: legacyCheckpoint(t, storage: [1, 2, 3, 4], claimedNumel: claimed), name: fileName),
                          "storage '0' claims \(claimed) elements")
        }
    }

    func testLegacyViewOffsetsAreCheckedArithmetic() {
        var t = spec(offset: 1, shape: [1], strides: [1])
        t.legacyViewOffset = Int.max
        assertRefused(try Checkpoint(bytes: legacyCheckpoint([t], storage: [1, 2, 3, 4]), name: fileName).stateDict(), "offset past any storage")
        t.legacyViewOffset = -1
        assertRefused(try Checkpoint(bytes: legacyCheckpoint([t], storage: [1, 2, 3, 4]), name: fileName), "negative offset")
    }

    // MARK: 7. safetensors

    func testSafetensorsHeaderLengthBeyondIntIsRefused() {
        let bytes = le64(.max) + Array(#"{"x":{}}"#.utf8)
        assertRefused(try Checkpoint(bytes: bytes, name: "a.safetensors"), name: "a.safetensors", "header length 18446744073709551615")
    }

    func testSafetensorsShapeAndByteSizeOverflowsAreRefused() {
        for shape in ["[4294967296,4294967296]", "[4611686018427387904]", "[-1]"] {
            let bytes = safetensors(header: #"{"x":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,0]}}"#, data: [])
            assertRefused(try SafeTensors.read(bytes: bytes, name: "a.safetensors"), name: "a.safetensors", "too large or negative")
        }
    }

    func testOverlappingSafetensorsEntriesAreRefused() {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#
        let bytes = safetensors(header: header, data: [UInt8](repeating: 0, count: 24))
        assertRefused(try Checkpoint(bytes: bytes, name: "a.safetensors"), name: "a.safetensors", "'a' and 'b' overlap")
        // Back to back, and empty tensors at a boundary, are fine.
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#
        XCTAssertEqual(try SafeTensors.read(bytes: safetensors(header: ok, data: [UInt8](repeating: 0, count: 24)), name: "ok").keys, ["a", "e", "b"])
    }

    // MARK: 8. .npy

    func testNPYShapeByteSizeAndStrideOverflowsAreRefused() {
        for (shape, order) in [("(4294967296, 4294967296)", "False"), ("(4611686018427387904,)", "False"),
                               ("(0, 1099511627776, 1099511627776)", "False"), ("(1099511627776, 1099511627776, 0)", "True")] {
            let bytes = npy(header: "{'descr': '<f4', 'fortran_order': \(order), 'shape': \(shape), }", data: [])
            assertRefused(try NPY.read(bytes: bytes, name: "a.npy"), name: "a.npy", "bad npy shape")
        }
    }

    func testNPYHeaderKeyGivenTwiceTakesTheLastValueAsNumpyDoes() throws {
        let data = [Float(1), 2].withUnsafeBytes { Array($0) }
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'descr': '<f4', 'shape': (2,), }"
        let a = try NPY.read(bytes: npy(header: header, data: data), name: "a.npy")
        XCTAssertEqual(a.shape, [2])
        XCTAssertEqual(a.values, [1, 2])
    }

    func testNPYHeaderErrorsAreOneLine() {
        for header in ["{'descr': '<f4',\n 'shape': (2,)}", "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}",
                       "not a dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} trailing"] {
            assertRefused(try NPY.read(bytes: npy(header: header, data: []), name: "a.npy"), name: "a.npy", "npy header")
        }
    }

    // MARK: everything at once

    /// Every byte of the small fixtures overwritten in turn: each result is a value or a
    /// WeightsError, and reading every tensor of a loaded state dict is too.
    func testCorruptingAnyByteOfTheFixturesGivesAValueOrAnError() throws {
        let dir = "checkpoint-forms/"
        for fixture in ["plain.pth", "legacy.pth", "tiny.safetensors", "f8_fortran.npy"] {
            let original = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(dir + fixture))))
            for i in 0..<original.count {
                for v: UInt8 in [0x00, 0xFF] where original[i] != v {
                    var bytes = original
                    bytes[i] = v
                    do {
                        if fixture.hasSuffix(".npy") {
                            _ = try NPY.read(bytes: bytes, name: fixture)
                            continue
                        }
                        let sd = try Checkpoint(bytes: bytes, name: fixture).stateDict()
                        for k in sd.keys { _ = try? sd[k]!.floats(file: fixture, key: k) }
                    } catch let error as WeightsError {
                        XCTAssertTrue("\(error)".hasPrefix(fixture + ": "), "\(error)")
                    }
                }
            }
        }
    }
}
