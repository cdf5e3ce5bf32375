/// How a checkpoint file is encoded.
public enum CheckpointFormat: String, Sendable {
    /// `torch.save` default since PyTorch 1.6: a ZIP of `data.pkl` plus raw storages.
    case torchZip
    /// The pre-1.6 stream: five pickles followed by the storages.
    case torchLegacy
    /// A safetensors file: a little-endian u64 header length, a JSON header, then the raw tensor data.
    case safetensors
}

/// Which state dict to take from a training checkpoint that holds several.
public enum StateDictVariant: Sendable {
    /// `model`, else `state_dict`, else the whole object (what the official loaders do).
    case model
    /// The exponential moving average: `model_ema` or `state_dict_ema`.
    case ema
}

/// A parsed checkpoint: its object graph (pickle formats) or its tensors (safetensors). Reading it
/// never executes code: the pickle subset only rebuilds containers, tensors and inert objects.
public struct Checkpoint {
    /// The file's path (or the display name of an in-memory checkpoint), used in error messages.
    public let path: String
    /// The encoding the file was recognised as, from its first bytes.
    public let format: CheckpointFormat
    /// The unpickled top-level object (nil for safetensors).
    public let root: PickleValue?
    private let safetensors: StateDict?
    private let fileSize: Int

    private static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Opens and parses a `.pth` / `.pt` / `.safetensors` file.
    public init(path: String) throws {
        try self.init(file: try BinaryFile(path: path))
    }

    /// Parses a checkpoint held in memory; `name` stands for the path in error messages.
    public init(bytes: [UInt8], name: String) throws {
        try self.init(file: BinaryFile(bytes: bytes, name: name))
    }

    /// Parses a checkpoint from an open file (on disk or in memory).
    public init(file: BinaryFile) throws {
        let path = file.path
        self.path = path
        fileSize = file.size
        guard file.size > 0 else { throw WeightsError.truncated(file: path, detail: "the file is empty") }
        let head = try file.bytes(at: 0, count: min(file.size, 16))
        if head.count >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 0x03 && head[3] == 0x04 {
            format = .torchZip
            (root, storages) = try Checkpoint.loadZip(file)
            safetensors = nil
        } else if head.count >= 14 && Array(head[0..<14]) == Checkpoint.legacyMagic {
            format = .torchLegacy
            (root, storages) = try Checkpoint.loadLegacy(file)
            safetensors = nil
        } else if head.count >= 9 && head[8] == UInt8(ascii: "{") {
            format = .safetensors
            root = nil
            safetensors = try SafeTensors.read(file)
        } else if head[0] == 0x80 {
            throw WeightsError.unsupportedFormat(file: path, detail: "a plain pickle, not a torch.save file (MegEngine .pkl checkpoints are not PyTorch files; use the PyTorch release)")
        } else if head.count >= 8 && head[0] == 0x1F && head[1] == 0x8B {
            throw WeightsError.unsupportedFormat(file: path, detail: "a gzip file; unpack it first")
        } else {
            throw WeightsError.unsupportedFormat(file: path, detail: "not a PyTorch checkpoint (.pth zip or legacy), nor safetensors")
        }
    }

    /// The mmcv/mmengine `meta` dictionary, when present.
    public var meta: PickleDict? { root?.dict?["meta"]?.dict }

    /// The tensors of the chosen state dict, with a DDP `module.` prefix stripped and the unused
    /// `num_batches_tracked` counters dropped.
    public func stateDict(_ variant: StateDictVariant = .model) throws -> StateDict {
        var sd: StateDict
        if let safetensors {
            sd = safetensors
        } else {
            guard let top = root?.dict else {
                throw WeightsError.notAStateDict(file: path, detail: "the top-level object is not a dictionary")
            }
            let chosen: PickleDict
            let candidates = variant == .ema ? ["model_ema", "state_dict_ema"] : ["model", "state_dict"]
            if let key = candidates.first(where: { top[$0]?.dict != nil }) {
                chosen = top[key]!.dict!
            } else if variant == .ema {
                throw WeightsError.notAStateDict(file: path, detail: "no EMA weights (model_ema / state_dict_ema); top-level keys: \(top.stringKeys.prefix(8).joined(separator: ", "))")
            } else {
                chosen = top
            }
            sd = StateDict()
            var nonTensor = [String]()
            var elements = 0
            for (k, v) in chosen.items {
                guard let key = k.string else { continue }
                if let t = v.tensor {
                    let w = try weight(t, key: key)
                    sd.insert(key, w)
                    elements = Checked.add(elements, w.count) ?? .max
                } else {
                    nonTensor.append(key)
                }
            }
            if sd.count == 0 {
                throw WeightsError.notAStateDict(file: path, detail: "no tensors found; top-level keys: \(top.stringKeys.prefix(8).joined(separator: ", "))")
            }
            if !nonTensor.isEmpty {
                throw WeightsError.notAStateDict(file: path, detail: "entries that are not tensors: \(nonTensor.prefix(5).joined(separator: ", "))")
            }
            // Every element of a storage takes at least one byte of the file, so only views that
            // repeat elements (stride 0, or many views of one storage) can exceed this; refusing
            // them bounds what reading every tensor can allocate by the file's size.
            guard elements <= fileSize else {
                throw WeightsError.malformed(file: path, detail: "the tensors hold \(elements) elements in all, more than the file's \(fileSize) bytes (views that repeat storage elements)")
            }
        }
        if sd.keys.allSatisfy({ $0.hasPrefix("module.") }) { sd = sd.stripping(prefix: "module.") }
        // One pass: removing keys one by one is quadratic in a (hostile) state dict's size.
        if sd.keys.contains(where: { $0.hasSuffix("num_batches_tracked") }) {
            var kept = StateDict()
            for k in sd.keys where !k.hasSuffix("num_batches_tracked") { kept.insert(k, sd[k]!) }
            sd = kept
        }
        return sd
    }

    // MARK: storage resolution

    private var storages: [String: StorageLocation] = [:]

    private static func storageRef(_ pid: PickleValue, file: String, legacy: Bool) throws -> PickleValue {
        guard case let .tuple(t) = pid, t.count >= 5, t[0].string == "storage",
              case let .global(module, name) = t[1], module == "torch",
              let key = t[2].string, let numel = t[4].int else {
            throw WeightsError.malformed(file: file, detail: "unexpected persistent id (not a torch storage)")
        }
        guard let dtype = DType(torchStorage: name) else {
            throw WeightsError.unsupportedFormat(file: file, detail: "storage type torch.\(name)")
        }
        guard numel >= 0 else {
            throw WeightsError.malformed(file: file, detail: "storage \(quoted(key)) has a negative size \(numel)")
        }
        var base = 0
        if legacy, t.count >= 6, case let .tuple(view) = t[5], view.count >= 2, let off = view[1].int {
            guard off >= 0 else {
                throw WeightsError.malformed(file: file, detail: "storage view of \(quoted(key)) has a negative offset \(off)")
            }
            base = off
        }
        return .storage(StorageRef(key: key, dtype: dtype, numel: numel, baseOffset: base))
    }

    private static func loadZip(_ file: BinaryFile) throws -> (PickleValue, [String: StorageLocation]) {
        let zip = try ZipArchive(file: file)
        guard let pkl = zip.entries.first(where: { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }) else {
            throw WeightsError.malformed(file: file.path, detail: "ZIP has no data.pkl: not a torch.save file")
        }
        guard pkl.method == 0 else { throw WeightsError.unsupportedFormat(file: file.path, detail: "compressed data.pkl") }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        var bigEndian = false
        if let bo = zip.entries.first(where: { $0.name == prefix + "byteorder" }) {
            let s = String(decoding: try file.bytes(at: bo.dataOffset, count: min(bo.size, 16)), as: UTF8.self)
            bigEndian = s.hasPrefix("big")
        }
        var table = [String: StorageLocation]()
        for e in zip.entries where e.name.hasPrefix(prefix + "data/") {
            let key = String(e.name.dropFirst((prefix + "data/").count))
            guard e.method == 0 else {
                throw WeightsError.unsupportedFormat(file: file.path, detail: "compressed storage entry '\(e.name)'")
            }
            table[key] = StorageLocation(file: file, byteOffset: e.dataOffset, byteCount: e.size, bigEndian: bigEndian)
        }
        let bytes = try file.bytes(at: pkl.dataOffset, count: pkl.size)
        var machine = PickleMachine(bytes: bytes, file: file.path) { pid in
            try Checkpoint.storageRef(pid, file: file.path, legacy: false)
        }
        return (try machine.run(), table)
    }

    private static func loadLegacy(_ file: BinaryFile) throws -> (PickleValue, [String: StorageLocation]) {
        let bytes = try file.allBytes()
        let noStorage: (PickleValue) throws -> PickleValue = { _ in
            throw WeightsError.malformed(file: file.path, detail: "unexpected persistent id in a header pickle")
        }
        var m1 = PickleMachine(bytes: bytes, start: 0, file: file.path, persistentLoad: noStorage)
        _ = try m1.run()                                  // magic number
        var m2 = PickleMachine(bytes: bytes, start: m1.pos, file: file.path, persistentLoad: noStorage)
        guard try m2.run().int == 1001 else {
            throw WeightsError.unsupportedFormat(file: file.path, detail: "legacy protocol version is not 1001")
        }
        var m3 = PickleMachine(bytes: bytes, start: m2.pos, file: file.path, persistentLoad: noStorage)
        let sysInfo = try m3.run()
        let bigEndian: Bool
        if case .bool(false)? = sysInfo.dict?["little_endian"] { bigEndian = true } else { bigEndian = false }
        var dtypes = [String: DType]()
        var m4 = PickleMachine(bytes: bytes, start: m3.pos, file: file.path) { pid in
            let v = try Checkpoint.storageRef(pid, file: file.path, legacy: true)
            if case let .storage(s) = v { dtypes[s.key] = s.dtype }
            return v
        }
        let root = try m4.run()
        var m5 = PickleMachine(bytes: bytes, start: m4.pos, file: file.path, persistentLoad: noStorage)
        guard let keys = try m5.run().sequence?.compactMap({ $0.string }) else {
            throw WeightsError.malformed(file: file.path, detail: "legacy storage key list missing")
        }
        var table = [String: StorageLocation]()
        var p = m5.pos
        for key in keys {
            guard p + 8 <= bytes.count else {
                throw WeightsError.truncated(file: file.path, detail: "storage '\(key)' header past the end of the file")
            }
            let size = dtypes[key]?.itemSize ?? 4
            let claimed = bytes.le64(p)
            p += 8
            guard let numel = Int(exactly: claimed), numel <= (bytes.count - p) / size else {
                throw WeightsError.truncated(file: file.path, detail: "storage \(quoted(key)) claims \(claimed) elements, past the end of the file")
            }
            table[key] = StorageLocation(file: file, byteOffset: p, byteCount: numel * size, bigEndian: bigEndian)
            p += numel * size
        }
        return (root, table)
    }

    /// The weight view of a rebuilt tensor, with its geometry checked: the element count and the
    /// offset must be representable (the view's extent is checked against the storage on reading).
    fileprivate func weight(_ t: TensorRef, key: String) throws -> WeightTensor {
        guard t.shape.count <= Checked.maxRank else {
            throw WeightsError.malformed(file: path, detail: "tensor \(quoted(key)) has \(t.shape.count) dims (at most \(Checked.maxRank))")
        }
        guard Checked.elementCount(t.shape) != nil else {
            throw WeightsError.malformed(file: path, detail: "tensor \(quoted(key)) has shape \(describe(t.shape)), whose element count overflows")
        }
        guard let offset = Checked.add(t.offset, t.storage.baseOffset) else {
            throw WeightsError.malformed(file: path, detail: "tensor \(quoted(key)) has an offset past any storage")
        }
        guard let loc = storages[t.storage.key] else {
            return WeightTensor(dtype: t.storage.dtype, shape: t.shape, source: .missing(t.storage.key), offset: 0, strides: t.strides)
        }
        let numel = min(t.storage.numel, loc.byteCount / t.storage.dtype.itemSize)
        return WeightTensor(dtype: t.storage.dtype, shape: t.shape,
                            source: .file(loc.file, byteOffset: loc.byteOffset, numel: numel, bigEndian: loc.bigEndian),
                            offset: offset, strides: t.strides)
    }
}

/// Bytes of one serialized storage.
struct StorageLocation {
    let file: BinaryFile
    let byteOffset: Int
    let byteCount: Int
    let bigEndian: Bool
}
