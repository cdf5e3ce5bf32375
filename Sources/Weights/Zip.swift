/// One entry of a ZIP archive, located through the central directory.
public struct ZipEntry {
    /// The entry's path inside the archive as stored (decoded as UTF-8), e.g. `archive/data.pkl`.
    public let name: String
    /// Offset of the entry's bytes in the archive (past its local header).
    public let dataOffset: Int
    /// Bytes of the entry in the archive (for a STORED entry, also its uncompressed size).
    public let size: Int
    /// The ZIP compression method: 0 is STORED, 8 DEFLATE. Checkpoints are read only from STORED
    /// entries.
    public let method: Int
}

/// A read-only ZIP index. `torch.save` writes uncompressed (STORED) entries; sizes come from the
/// central directory because the local headers may carry zeros (general-purpose flag bit 3).
/// Every offset, size and count is checked against the file's length, with checked arithmetic,
/// before it is used.
public struct ZipArchive {
    /// The entries in central-directory order.
    public let entries: [ZipEntry]

    /// Reads the central directory (ZIP64 included) and each entry's local header.
    ///
    /// - Throws: `WeightsError.truncated` when the end record is missing or an entry
    ///   lies past the end of the file; `WeightsError.malformed` for corrupt headers or
    ///   a STORED entry whose sizes disagree.
    public init(file: BinaryFile) throws {
        let path = file.path
        func corrupt(_ detail: String) -> WeightsError { .malformed(file: path, detail: "ZIP: " + detail) }
        /// A 64-bit field as an Int in 0...file.size, which every offset, stored size and count is
        /// (an uncompressed size need only be an Int: a STORED one is checked against its stored size).
        func field(_ v: UInt64, _ what: String, withinFile: Bool = true) throws -> Int {
            guard let i = Int(exactly: v), !withinFile || i <= file.size else {
                throw WeightsError.truncated(file: path, detail: "\(what) \(v) exceeds the \(file.size)-byte file")
            }
            return i
        }
        guard file.size >= 22 else { throw WeightsError.truncated(file: path, detail: "too small to be a ZIP archive") }
        // End of central directory: the last 22..(22+65535) bytes.
        let tailCount = min(file.size, 22 + 65535)
        let tail = try file.bytes(at: file.size - tailCount, count: tailCount)
        var eocd = -1
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50 && tail[i + 1] == 0x4b && tail[i + 2] == 0x05 && tail[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else {
            throw WeightsError.truncated(file: path, detail: "ZIP end-of-central-directory record not found (the download may be incomplete)")
        }
        var count = tail.le16(eocd + 10)
        var cdSize = tail.le32(eocd + 12)
        var cdOffset = tail.le32(eocd + 16)
        // ZIP64: a locator sits just before the end record.
        if eocd >= 20, tail[eocd - 20] == 0x50, tail[eocd - 19] == 0x4b, tail[eocd - 18] == 0x06, tail[eocd - 17] == 0x07 {
            let recOffset = try field(tail.le64(eocd - 20 + 8), "ZIP64 end record offset")
            let rec = try file.bytes(at: recOffset, count: 56)
            guard rec.le32(0) == 0x06064b50 else { throw corrupt("bad ZIP64 end record") }
            count = try field(rec.le64(32), "ZIP64 entry count")
            cdSize = try field(rec.le64(40), "ZIP64 central directory size")
            cdOffset = try field(rec.le64(48), "ZIP64 central directory offset")
        }
        guard let cdEnd = Checked.add(cdOffset, cdSize), cdEnd <= file.size else {
            throw WeightsError.truncated(file: path, detail: "central directory lies outside the file")
        }
        // Each entry takes at least 46 bytes, so the count can size nothing beyond the directory.
        guard count <= cdSize / 46 else {
            throw corrupt("\(count) entries cannot fit in a \(cdSize)-byte central directory")
        }
        let cd = try file.bytes(at: cdOffset, count: cdSize)
        var entries = [ZipEntry]()
        entries.reserveCapacity(count)
        var p = 0
        for _ in 0..<count {
            guard p + 46 <= cd.count, cd.le32(p) == 0x02014b50 else {
                throw corrupt("bad central directory entry at byte \(cdOffset + p)")
            }
            let method = cd.le16(p + 10)
            var compSize = cd.le32(p + 20)
            var size = cd.le32(p + 24)
            let nameLen = cd.le16(p + 28), extraLen = cd.le16(p + 30), commentLen = cd.le16(p + 32)
            var localOffset = cd.le32(p + 42)
            guard p + 46 + nameLen + extraLen + commentLen <= cd.count else {
                throw corrupt("central directory entry overruns the directory")
            }
            let name = String(decoding: cd[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            // ZIP64 extra field: 64-bit values for the fields saturated at 0xFFFFFFFF, in order.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = cd.le16(e), len = cd.le16(e + 2)
                let end = e + 4 + len
                guard end <= extraEnd else { throw corrupt("extra field of \(quoted(name)) overruns its entry") }
                if id == 0x0001 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF && q + 8 <= end { size = try field(cd.le64(q), "ZIP64 size of \(quoted(name))", withinFile: false); q += 8 }
                    if compSize == 0xFFFF_FFFF && q + 8 <= end { compSize = try field(cd.le64(q), "ZIP64 size of \(quoted(name))"); q += 8 }
                    if localOffset == 0xFFFF_FFFF && q + 8 <= end { localOffset = try field(cd.le64(q), "ZIP64 offset of \(quoted(name))"); q += 8 }
                }
                e = end
            }
            let local = try file.bytes(at: localOffset, count: 30)
            guard local.le32(0) == 0x04034b50 else { throw corrupt("bad local header for \(quoted(name))") }
            // localOffset <= file.size, so this sum of small terms cannot overflow.
            let dataOffset = localOffset + 30 + local.le16(26) + local.le16(28)
            guard let dataEnd = Checked.add(dataOffset, compSize), dataEnd <= file.size else {
                throw WeightsError.truncated(file: path, detail: "entry \(quoted(name)) ends past the end of the file")
            }
            if method == 0 && size != compSize {
                throw corrupt("STORED entry \(quoted(name)) claims \(size) bytes but holds \(compSize)")
            }
            entries.append(ZipEntry(name: name, dataOffset: dataOffset, size: method == 0 ? size : compSize, method: method))
            p += 46 + nameLen + extraLen + commentLen
        }
        self.entries = entries
    }
}
