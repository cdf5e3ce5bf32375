#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file accessed by offset (pread), so multi-gigabyte checkpoints are never loaded whole.
/// It can also wrap bytes already in memory, so every parser can run on a buffer (tests, fuzzing).
public final class BinaryFile {
    /// The name used in error messages: the path, or the display name of an in-memory buffer.
    public let path: String
    /// The length of the file, in bytes.
    public let size: Int
    private enum Backing {
        case descriptor(Int32)
        case memory([UInt8])
    }
    private let backing: Backing

    /// Opens `path` for reading; nothing is read until asked.
    ///
    /// - Throws: `WeightsError.unreadable` when the file cannot be opened or is a
    ///   directory.
    public init(path: String) throws {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw WeightsError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw WeightsError.unreadable(file: path, reason: "is a directory")
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw WeightsError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        backing = .descriptor(fd)
        size = Int(st.st_size)
    }

    /// An in-memory file; `name` stands for the path in error messages.
    public init(bytes: [UInt8], name: String) {
        path = name
        size = bytes.count
        backing = .memory(bytes)
    }

    deinit { if case let .descriptor(fd) = backing { close(fd) } }

    /// Throws unless `count` bytes at `offset` lie inside the file. Every read checks this before it
    /// allocates anything, so a length read from the file can never size an allocation by itself.
    public func checkRange(at offset: Int, count: Int) throws {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw WeightsError.truncated(file: path, detail: "needs \(count) bytes at offset \(offset) of a \(size)-byte file")
        }
    }

    /// Reads exactly `count` bytes at `offset` into `buffer`.
    public func read(at offset: Int, count: Int, into buffer: UnsafeMutableRawPointer) throws {
        try checkRange(at: offset, count: count)
        switch backing {
        case let .memory(bytes):
            if count > 0 { bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + offset, byteCount: count) } }
        case let .descriptor(fd):
            var done = 0
            while done < count {
                let n = pread(fd, buffer + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw WeightsError.unreadable(file: path, reason: String(cString: strerror(errno)))
                }
                if n == 0 { throw WeightsError.truncated(file: path, detail: "unexpected end of file at byte \(offset + done)") }
                done += n
            }
        }
    }

    /// Reads `count` bytes at `offset`.
    public func bytes(at offset: Int, count: Int) throws -> [UInt8] {
        try checkRange(at: offset, count: count)
        if case let .memory(bytes) = backing { return Array(bytes[offset..<(offset + count)]) }
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { try out.withUnsafeMutableBytes { try read(at: offset, count: count, into: $0.baseAddress!) } }
        return out
    }

    /// The whole file (for small files only).
    public func allBytes() throws -> [UInt8] { try bytes(at: 0, count: size) }
}

/// Little-endian integer reads from a byte array, bounds-checked by the caller.
extension Array where Element == UInt8 {
    @inline(__always) func le16(_ i: Int) -> Int { Int(self[i]) | Int(self[i + 1]) << 8 }
    @inline(__always) func le32(_ i: Int) -> Int { le16(i) | le16(i + 2) << 16 }
    @inline(__always) func le64(_ i: Int) -> UInt64 { UInt64(le32(i)) | UInt64(le32(i + 4)) << 32 }
}

/// Overflow-checked arithmetic on sizes, counts and offsets read from a file: nil where the exact
/// result does not fit in an Int.
enum Checked {
    /// The most dims a tensor may have (numpy's limit; checkpoints use at most 4 or 5).
    static let maxRank = 64

    static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }

    static func mul(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    /// The element count of `shape`, or nil when a size is negative or the product of the non-zero
    /// sizes times `itemSize` overflows (numpy's rule, so strides of an empty array stay
    /// representable too).
    static func elementCount(_ shape: [Int], itemSize: Int = 1) -> Int? {
        var nonZero = itemSize, hasZero = false
        for s in shape {
            guard s >= 0 else { return nil }
            if s == 0 { hasZero = true; continue }
            guard let p = mul(nonZero, s) else { return nil }
            nonZero = p
        }
        return hasZero ? 0 : nonZero / itemSize
    }

    /// The last storage element a strided view touches: offset + Σ (size−1)·stride, or nil when a
    /// term is negative or the sum overflows. Empty views touch nothing and give `offset`.
    static func lastElement(offset: Int, shape: [Int], strides: [Int]) -> Int? {
        guard offset >= 0, shape.count == strides.count else { return nil }
        if shape.contains(0) { return offset }
        var hi = offset
        for (s, st) in zip(shape, strides) {
            guard s >= 0, st >= 0, let term = mul(s - 1, st), let next = add(hi, term) else { return nil }
            hi = next
        }
        return hi
    }
}

/// A string from a file, shortened and quoted for an error message.
func quoted(_ s: some StringProtocol, limit: Int = 60) -> String {
    let short = s.count > limit ? String(s.prefix(limit)) + "…" : String(s)
    return "'" + short + "'"
}
