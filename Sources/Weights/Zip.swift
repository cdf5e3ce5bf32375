/// One entry of a ZIP archive, located through the central directory.
public struct ZipEntry {
    public let name: String
    /// Offset of the entry's bytes in the archive (past its local header).
    public let dataOffset: Int
    public let size: Int
    public let method: Int
}

/// A read-only ZIP index. `torch.save` writes uncompressed (STORED) entries; sizes come from the
/// central directory because the local headers may carry zeros (general-purpose flag bit 3).
public struct ZipArchive {
    public let entries: [ZipEntry]

    public init(file: BinaryFile) throws {
        let path = file.path
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
            let recOffset = Int(tail.le64(eocd - 20 + 8))
            let rec = try file.bytes(at: recOffset, count: 56)
            guard rec.le32(0) == 0x06064b50 else { throw WeightsError.malformed(file: path, detail: "bad ZIP64 end record") }
            count = Int(rec.le64(32))
            cdSize = Int(rec.le64(40))
            cdOffset = Int(rec.le64(48))
        }
        guard cdOffset >= 0, cdSize >= 0, cdOffset + cdSize <= file.size else {
            throw WeightsError.truncated(file: path, detail: "central directory lies outside the file")
        }
        let cd = try file.bytes(at: cdOffset, count: cdSize)
        var entries = [ZipEntry]()
        entries.reserveCapacity(count)
        var p = 0
        for _ in 0..<count {
            guard p + 46 <= cd.count, cd.le32(p) == 0x02014b50 else {
                throw WeightsError.malformed(file: path, detail: "bad central directory entry at byte \(cdOffset + p)")
            }
            let method = cd.le16(p + 10)
            var compSize = cd.le32(p + 20)
            var size = cd.le32(p + 24)
            let nameLen = cd.le16(p + 28), extraLen = cd.le16(p + 30), commentLen = cd.le16(p + 32)
            var localOffset = cd.le32(p + 42)
            guard p + 46 + nameLen + extraLen + commentLen <= cd.count else {
                throw WeightsError.malformed(file: path, detail: "central directory entry overruns the directory")
            }
            let name = String(decoding: cd[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            // ZIP64 extra field: 64-bit values for the fields saturated at 0xFFFFFFFF, in order.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = cd.le16(e), len = cd.le16(e + 2)
                if id == 0x0001 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF && q + 8 <= e + 4 + len { size = Int(cd.le64(q)); q += 8 }
                    if compSize == 0xFFFF_FFFF && q + 8 <= e + 4 + len { compSize = Int(cd.le64(q)); q += 8 }
                    if localOffset == 0xFFFF_FFFF && q + 8 <= e + 4 + len { localOffset = Int(cd.le64(q)); q += 8 }
                }
                e += 4 + len
            }
            let local = try file.bytes(at: localOffset, count: 30)
            guard local.le32(0) == 0x04034b50 else {
                throw WeightsError.malformed(file: path, detail: "bad local header for '\(name)'")
            }
            let dataOffset = localOffset + 30 + local.le16(26) + local.le16(28)
            guard dataOffset + compSize <= file.size else {
                throw WeightsError.truncated(file: path, detail: "entry '\(name)' ends past the end of the file")
            }
            entries.append(ZipEntry(name: name, dataOffset: dataOffset, size: method == 0 ? size : compSize, method: method))
            p += 46 + nameLen + extraLen + commentLen
        }
        self.entries = entries
    }
}
