#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only file accessed by offset (pread), so multi-gigabyte checkpoints are never loaded whole.
public final class BinaryFile {
    public let path: String
    public let size: Int
    private let fd: Int32

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
        self.fd = fd
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset` into `buffer`.
    public func read(at offset: Int, count: Int, into buffer: UnsafeMutableRawPointer) throws {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw WeightsError.truncated(file: path, detail: "needs bytes \(offset)..<\(offset + count) of a \(size)-byte file")
        }
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

    /// Reads `count` bytes at `offset`.
    public func bytes(at offset: Int, count: Int) throws -> [UInt8] {
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
