import Foundation
import RepLKWeights

/// Builders for small checkpoint files, valid or deliberately broken, made in memory so the
/// hostile-input tests need no fixture files.

/// Pickle opcodes, written one at a time.
struct PickleWriter {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ b: UInt8) { bytes.append(b) }
    mutating func ops(_ b: [UInt8]) { bytes += b }
    mutating func mark() { op(0x28) }
    mutating func global(_ module: String, _ name: String) { op(0x63); bytes += Array("\(module)\n\(name)\n".utf8) }
    mutating func string(_ s: String) { op(0x58); bytes += le32(s.utf8.count); bytes += Array(s.utf8) }
    /// LONG1 with eight bytes: any Int, negative or huge.
    mutating func int(_ v: Int) { op(0x8A); op(8); bytes += le64(UInt64(bitPattern: Int64(v))) }
    mutating func tuple(_ items: [Int]) { mark(); for i in items { int(i) }; op(0x74) }
    mutating func stop() { op(0x2E) }
}

func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * UInt64($0))) & 0xFF) } }

func put32(_ bytes: inout [UInt8], at i: Int, _ v: UInt32) { bytes.replaceSubrange(i..<(i + 4), with: le32(Int(v))) }
func put64(_ bytes: inout [UInt8], at i: Int, _ v: UInt64) { bytes.replaceSubrange(i..<(i + 8), with: le64(v)) }

/// One tensor of a crafted state dict: a view of float storage "0".
struct TensorSpec {
    var key: String
    var offset = 0
    var shape: [Int]
    var strides: [Int]
    /// The storage's element count as the persistent id claims it.
    var storageNumel: Int
    /// The legacy view tuple's element offset, if any.
    var legacyViewOffset: Int?
}

/// `OrderedDict` of `_rebuild_tensor_v2` calls, as `torch.save` pickles a state dict.
func stateDictPickle(_ tensors: [TensorSpec]) -> [UInt8] {
    var w = PickleWriter()
    w.global("collections", "OrderedDict"); w.op(0x29); w.op(0x52)
    w.mark()
    for t in tensors {
        w.string(t.key)
        w.global("torch._utils", "_rebuild_tensor_v2")
        w.mark()
        w.mark()
        w.string("storage"); w.global("torch", "FloatStorage"); w.string("0"); w.string("cpu"); w.int(t.storageNumel)
        if let off = t.legacyViewOffset { w.mark(); w.string("0"); w.int(off); w.int(1); w.op(0x74) }
        w.op(0x74)
        w.op(0x51)                                          // BINPERSID
        w.int(t.offset)
        w.tuple(t.shape)
        w.tuple(t.strides)
        w.op(0x89)                                          // NEWFALSE
        w.global("collections", "OrderedDict"); w.op(0x29); w.op(0x52)
        w.op(0x74)
        w.op(0x52)
    }
    w.op(0x75)                                              // SETITEMS
    w.stop()
    return w.bytes
}

/// A STORED ZIP archive laid out as `torch.save` writes one, with the positions tests patch.
struct ZipImage {
    var bytes: [UInt8] = []
    /// Offset of each entry's central directory record.
    var centralEntries: [Int] = []
    var centralDirectory = 0
    var endRecord = 0
    /// Offset of the ZIP64 end record, when written.
    var zip64EndRecord: Int?
}

func makeZip(_ entries: [(name: String, data: [UInt8])], centralExtra: [String: [UInt8]] = [:], zip64: Bool = false) -> ZipImage {
    var z = ZipImage()
    var locals = [Int]()
    for e in entries {
        locals.append(z.bytes.count)
        z.bytes += le32(0x04034b50) + le16(20) + le16(0) + le16(0) + le32(0) + le32(0)
        z.bytes += le32(e.data.count) + le32(e.data.count) + le16(e.name.utf8.count) + le16(0)
        z.bytes += Array(e.name.utf8) + e.data
    }
    z.centralDirectory = z.bytes.count
    for (e, local) in zip(entries, locals) {
        let extra = centralExtra[e.name] ?? []
        z.centralEntries.append(z.bytes.count)
        z.bytes += le32(0x02014b50) + le16(20) + le16(20) + le16(0) + le16(0) + le32(0) + le32(0)
        z.bytes += le32(e.data.count) + le32(e.data.count) + le16(e.name.utf8.count) + le16(extra.count) + le16(0)
        z.bytes += le16(0) + le16(0) + le32(0) + le32(local) + Array(e.name.utf8) + extra
    }
    let cdSize = z.bytes.count - z.centralDirectory
    if zip64 {
        z.zip64EndRecord = z.bytes.count
        z.bytes += le32(0x06064b50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
        z.bytes += le64(UInt64(entries.count)) + le64(UInt64(entries.count)) + le64(UInt64(cdSize)) + le64(UInt64(z.centralDirectory))
        z.bytes += le32(0x07064b50) + le32(0) + le64(UInt64(z.zip64EndRecord!)) + le32(1)
    }
    z.endRecord = z.bytes.count
    z.bytes += le32(0x06054b50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
    z.bytes += le32(cdSize) + le32(z.centralDirectory) + le16(0)
    return z
}

/// A zip checkpoint holding `tensors` over float storage "0" with `storage` values.
func torchZip(_ tensors: [TensorSpec], storage: [Float], zip64: Bool = false) -> ZipImage {
    let data = storage.withUnsafeBytes { Array($0) }
    return makeZip([("archive/data.pkl", stateDictPickle(tensors)), ("archive/data/0", data)], zip64: zip64)
}

/// A pre-1.6 (legacy) checkpoint: magic, protocol version, system info, the state dict, the storage
/// keys, then each storage as a little-endian u64 element count and its bytes.
func legacyCheckpoint(_ tensors: [TensorSpec], storage: [Float], claimedNumel: UInt64? = nil) -> [UInt8] {
    var out: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
    out += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]                  // 1001
    out += [0x80, 0x02, 0x7D, 0x2E]                              // {}
    out += stateDictPickle(tensors)
    var keys = PickleWriter()
    keys.op(0x5D); keys.string("0"); keys.op(0x61); keys.stop()
    out += keys.bytes
    out += le64(claimedNumel ?? UInt64(storage.count))
    out += storage.withUnsafeBytes { Array($0) }
    return out
}

/// A safetensors file from a raw JSON header and data bytes.
func safetensors(header: String, data: [UInt8]) -> [UInt8] {
    le64(UInt64(header.utf8.count)) + Array(header.utf8) + data
}

/// A `.npy` file (format 1.0) from a raw header dict and data bytes.
func npy(header: String, data: [UInt8], major: UInt8 = 1) -> [UInt8] {
    let h = Array((header + "\n").utf8)
    let length = major == 1 ? le16(h.count) : le32(h.count)
    return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0] + length + h + data
}
