#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element type of a serialized storage.
public enum DType: String, Sendable {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// The dtype of a `torch.<Name>Storage` class.
    init?(torchStorage name: String) {
        switch name {
        case "FloatStorage": self = .float32
        case "DoubleStorage": self = .float64
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }
}

/// A storage named by a persistent id: `('storage', torch.FloatStorage, key, location, numel)`.
public struct StorageRef: Equatable {
    /// The storage's name in the checkpoint: its entry under `data/` in a ZIP checkpoint, or its key
    /// in a legacy file's storage list.
    public let key: String
    /// The element type (from the `torch.<Name>Storage` class).
    public let dtype: DType
    /// The number of elements the persistent id declares (never negative).
    public let numel: Int
    /// Element offset inside the root storage (legacy views only).
    public let baseOffset: Int
}

/// A tensor rebuilt by `torch._utils._rebuild_tensor_v2`: a strided view of a storage.
public struct TensorRef: Equatable {
    /// The storage the view reads.
    public let storage: StorageRef
    /// Offset of the first element in the storage, in elements (not bytes).
    public let offset: Int
    /// Size of each dimension, outermost first.
    public let shape: [Int]
    /// Step between consecutive elements of each dimension, in elements (PyTorch's `stride()`).
    public let strides: [Int]
}

/// A list, set or dict is a reference type in a pickle: it can be memoized and filled later.
public final class PickleList {
    /// The elements in order.
    public var items: [PickleValue] = []
    /// Nesting depth of the tree below (an empty container is 1), as the machine built it.
    var height = 1

    /// Drops the contents (breaking any reference cycle through this list).
    func clear() { PickleTeardown.release(&items) }

    deinit { PickleTeardown.release(&items) }
}

/// A pickled dict (or `collections.OrderedDict`), in insertion order. A string key set twice keeps
/// its first place and its last value.
public final class PickleDict {
    /// The key-value pairs in insertion order; keys may be any pickle value.
    public private(set) var items: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]
    var height = 1

    deinit {
        var values = items.flatMap { [$0.key, $0.value] }
        items = []
        PickleTeardown.release(&values)
    }

    /// Drops the contents (breaking any reference cycle through this dict).
    func clear() {
        var values = items.flatMap { [$0.key, $0.value] }
        items = []
        stringIndex = [:]
        PickleTeardown.release(&values)
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case let .string(s) = key {
            if let i = stringIndex[s] { items[i].value = value; return }
            stringIndex[s] = items.count
        }
        items.append((key, value))
    }

    /// Value for a string key.
    public subscript(_ key: String) -> PickleValue? { stringIndex[key].map { items[$0].value } }
    /// The string keys in insertion order (other keys are skipped).
    public var stringKeys: [String] { items.compactMap { if case let .string(s) = $0.key { return s } else { return nil } } }
}

/// An instance of an allow-listed inert class (argparse.Namespace, a numpy scalar, …), kept as data.
public final class PickleObject {
    /// The class's qualified name, `module.name` (e.g. `argparse.Namespace`).
    public let className: String
    /// The arguments the pickle gave the constructor (never called).
    public private(set) var args: [PickleValue]
    /// The state a BUILD opcode gave the object (usually its attribute dict), or nil.
    public var state: PickleValue?
    var height = 1

    init(className: String, args: [PickleValue]) { self.className = className; self.args = args }

    /// Drops the arguments and state (breaking any reference cycle through this object).
    func clear() {
        var values = args
        if let state { values.append(state) }
        args = []
        state = nil
        PickleTeardown.release(&values)
    }

    deinit {
        var values = args
        if let state { values.append(state) }
        args = []
        state = nil
        PickleTeardown.release(&values)
    }
}

/// Frees the contents of dying containers one container at a time. Swift frees a value by
/// releasing its children recursively, so dropping a long chain of lists would overflow the stack.
/// The nesting limit bounds chains built on the machine's stack, but not one made by filling a
/// container after it was nested (through the memo), so the containers never rely on it: the
/// first container to die on a thread drains a work list, and containers that die while it runs
/// only add their children to that list. Tuples are values without a deinit; their nesting is
/// exact and limited, so freeing one recurses at most that deep.
enum PickleTeardown {
    private final class Pending { var values: [PickleValue] = [] }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    static func release(_ values: inout [PickleValue]) {
        guard !values.isEmpty else { return }
        if let running = pthread_getspecific(key) {
            Unmanaged<Pending>.fromOpaque(running).takeUnretainedValue().values.append(contentsOf: values)
            values = []
            return
        }
        let pending = Pending()
        pending.values = values
        values = []
        pthread_setspecific(key, Unmanaged.passUnretained(pending).toOpaque())
        while let value = pending.values.popLast() { withExtendedLifetime(value) {} }
        pthread_setspecific(key, nil)
    }
}

/// The pickle's reference types, whose contents the machine can drop.
protocol PickleContainer: AnyObject {
    func clear()
    /// The values directly inside.
    var children: [PickleValue] { get }
}

extension PickleList: PickleContainer { var children: [PickleValue] { items } }
extension PickleDict: PickleContainer { var children: [PickleValue] { items.flatMap { [$0.key, $0.value] } } }
extension PickleObject: PickleContainer { var children: [PickleValue] { args + (state.map { [$0] } ?? []) } }

extension PickleContainer {
    /// The containers directly reachable from this one (through tuples, which are values), or nil
    /// once `budget` values have been looked at: tuples can share tuples (DUP, the memo), so the
    /// walk through them is bounded rather than exponential.
    func childContainers(budget: inout Int) -> [PickleContainer]? {
        var out = [PickleContainer]()
        var values = children
        while let v = values.popLast() {
            budget -= 1
            if budget < 0 { return nil }
            switch v {
            case let .list(l), let .set(l): out.append(l)
            case let .dict(d): out.append(d)
            case let .object(o): out.append(o)
            case let .tuple(t): values.append(contentsOf: t)
            default: break
            }
        }
        return out
    }
}

/// Whether any of `containers` lies on a reference cycle (depth-first, without recursion); nil
/// when telling would take more than `budget` steps.
func pickleContainersFormCycle(_ containers: [PickleContainer], budget: Int) -> Bool? {
    var budget = budget
    var done = Set<ObjectIdentifier>(), onPath = Set<ObjectIdentifier>()
    for root in containers where !done.contains(ObjectIdentifier(root)) {
        guard let first = root.childContainers(budget: &budget) else { return nil }
        var path: [(node: PickleContainer, next: [PickleContainer])] = [(root, first)]
        onPath.insert(ObjectIdentifier(root))
        while !path.isEmpty {
            if let child = path[path.count - 1].next.popLast() {
                let id = ObjectIdentifier(child)
                if onPath.contains(id) { return true }
                if done.contains(id) { continue }
                guard let next = child.childContainers(budget: &budget) else { return nil }
                onPath.insert(id)
                path.append((child, next))
            } else {
                let id = ObjectIdentifier(path.removeLast().node)
                onPath.remove(id)
                done.insert(id)
            }
        }
    }
    return false
}

/// A value produced by the pickle machine. Nothing in it was ever executed.
public indirect enum PickleValue {
    /// Python's `None`.
    case none
    /// `True` or `False`.
    case bool(Bool)
    /// An integer that fits in Int.
    case int(Int)
    /// An integer too large for Int (kept as little-endian two's-complement bytes).
    case bigInt([UInt8])
    /// A Python float (float64).
    case float(Double)
    /// A `str`, decoded as UTF-8.
    case string(String)
    /// `bytes`, `bytearray`, or a Python 2 `str` written as BINSTRING.
    case bytes([UInt8])
    /// A tuple (immutable, so held by value).
    case tuple([PickleValue])
    /// A list.
    case list(PickleList)
    /// A set or frozenset, its elements in pickle order (duplicates kept).
    case set(PickleList)
    /// A dict or `collections.OrderedDict`.
    case dict(PickleDict)
    /// An allow-listed class or function, by name; it is never imported or called.
    case global(module: String, name: String)
    /// An inert instance of an allow-listed class.
    case object(PickleObject)
    /// A tensor storage, from a persistent id.
    case storage(StorageRef)
    /// A tensor (or `nn.Parameter`, unwrapped) rebuilt as a view of a storage.
    case tensor(TensorRef)

    /// The dict, when this value is one.
    public var dict: PickleDict? { if case let .dict(d) = self { return d } else { return nil } }
    /// The tensor, when this value is one.
    public var tensor: TensorRef? { if case let .tensor(t) = self { return t } else { return nil } }
    /// The string, when this value is one (not bytes).
    public var string: String? { if case let .string(s) = self { return s } else { return nil } }
    /// The integer, when this value is an `int` that fits in Int or a `bool` (as 0 or 1).
    public var int: Int? {
        switch self {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }
    var sequence: [PickleValue]? {
        switch self {
        case let .tuple(t): return t
        case let .list(l): return l.items
        default: return nil
        }
    }
}

/// Globals the machine understands (never imports, never calls):
/// - constructors it rebuilds itself: OrderedDict, tensors, parameters, typed storages;
/// - inert metadata classes found in training checkpoints, kept as opaque `PickleObject`s.
/// Any other global is an error that names it.
enum PickleGlobals {
    static let rebuilt: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    ]
    static let inert: Set<String> = [
        "argparse.Namespace", "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.complex",
        "builtins.bytearray", "collections.defaultdict", "collections.Counter", "_codecs.encode", "codecs.encode",
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype",
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray",
        "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
        "torch.Size", "torch.device", "torch.torch_version.TorchVersion", "torch.float32", "torch.float16",
        "torch.bfloat16", "torch.storage.UntypedStorage", "torch.cuda.amp.grad_scaler._MultiDeviceReplicator",
        "pathlib.PosixPath", "pathlib.WindowsPath", "datetime.datetime", "datetime.timedelta",
    ]
    /// Namespaces of OpenMMLab training-state classes (configs, message hubs, history buffers).
    static let inertPrefixes = ["mmcv.", "mmengine.", "mmseg.", "mmdet.", "mmpretrain.", "mmcls.", "timm."]

    static func isAllowed(_ qualified: String) -> Bool {
        if rebuilt.contains(qualified) || inert.contains(qualified) { return true }
        if qualified.hasPrefix("torch."), qualified.hasSuffix("Storage"), !qualified.dropFirst(6).contains(".") { return true }
        return inertPrefixes.contains { qualified.hasPrefix($0) }
    }
}

/// A bounded, non-executing interpreter for pickle protocols 0–5 as `torch.save` writes them.
/// Besides refusing unknown globals it bounds what a hostile stream can make it build: the stack
/// size, the memo indices, and the nesting depth of containers (`maxDepth`).
struct PickleMachine {
    /// Deeper nesting than any checkpoint has (a state dict is a few levels deep), shallow enough
    /// that freeing a nest of tuples cannot exhaust a thread's stack.
    static let maxDepth = 1000

    /// A value on the stack or in the memo, with the depth of the tree below it (0 for scalars).
    /// Lists, sets, dicts and objects carry their own depth, since they can grow after being
    /// pushed; tuples cannot, so theirs is exact.
    private struct Slot {
        var value: PickleValue
        var height: Int
    }

    let bytes: [UInt8]
    let file: String
    var pos: Int
    /// Resolves a persistent id (the storage tuple) to a value.
    let persistentLoad: (PickleValue) throws -> PickleValue

    private var stack: [Slot] = []
    private var marks: [Int] = []
    /// Every list, set, dict and object made, so that a load that fails, or whose containers form
    /// a cycle, can empty them: a cycle is never freed by ARC.
    private var containers: [PickleContainer] = []
    private var memo: [Int: Slot] = [:]
    /// Each stack slot costs about 100 bytes with its value, so this bounds the stack below 1 GB.
    private let maxStack = 1 << 22
    private let maxMemoIndex = 1 << 26
    /// Qualified class names, shared by every object of a class instead of one string each.
    private var classNames: [String: String] = [:]

    init(bytes: [UInt8], start: Int = 0, file: String, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.bytes = bytes
        self.pos = start
        self.file = file
        self.persistentLoad = persistentLoad
    }

    private func fail(_ detail: String) -> WeightsError {
        .malformed(file: file, detail: "pickle: \(detail) (byte \(pos))")
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - pos else {
            throw WeightsError.truncated(file: file, detail: "pickle stream ends inside an opcode (byte \(pos))")
        }
        defer { pos += n }
        return bytes[pos..<(pos + n)]
    }
    private mutating func u8() throws -> Int { Int(try take(1).first!) }
    private mutating func uLE(_ n: Int) throws -> Int {
        let s = try take(n)
        var v = 0
        for (i, b) in s.enumerated() { v |= Int(b) << (8 * i) }
        return v
    }
    private mutating func line() throws -> String {
        guard let nl = bytes[pos...].firstIndex(of: 0x0A) else {
            throw WeightsError.truncated(file: file, detail: "pickle stream ends inside a text opcode")
        }
        defer { pos = nl + 1 }
        return String(decoding: bytes[pos..<nl], as: UTF8.self)
    }

    // MARK: depth bookkeeping

    private func height(_ s: Slot) -> Int {
        switch s.value {
        case let .list(l), let .set(l): return l.height
        case let .dict(d): return d.height
        case let .object(o): return o.height
        default: return s.height
        }
    }

    /// The depth of a container holding `slots`.
    private func containerHeight(_ slots: some Sequence<Slot>) throws -> Int {
        var h = 1
        for s in slots { h = max(h, height(s) + 1) }
        guard h <= Self.maxDepth else { throw fail("containers nested deeper than \(Self.maxDepth) levels") }
        return h
    }

    /// Raises a container's depth for a new child of depth `child`.
    private func grow(_ height: inout Int, child: Int) throws {
        guard child < Self.maxDepth else { throw fail("containers nested deeper than \(Self.maxDepth) levels") }
        height = max(height, child + 1)
    }

    // MARK: stack and memo

    private mutating func pop() throws -> Slot {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        if let m = marks.last, m > stack.count { throw fail("pop across a mark") }
        return v
    }
    private mutating func popMark() throws -> [Slot] {
        guard let m = marks.popLast() else { throw fail("no mark on the stack") }
        guard m <= stack.count else { throw fail("corrupt mark") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }
    private mutating func push(_ s: Slot) throws {
        guard stack.count < maxStack else { throw fail("stack too deep") }
        stack.append(s)
    }
    private mutating func push(_ v: PickleValue, height: Int = 0) throws { try push(Slot(value: v, height: height)) }
    /// Pushes a tuple of `items`.
    private mutating func pushTuple(_ items: [Slot]) throws {
        try push(.tuple(items.map(\.value)), height: try containerHeight(items))
    }
    private mutating func memoize(_ index: Int) throws {
        guard let top = stack.last else { throw fail("memo store with an empty stack") }
        guard index >= 0 && index < maxMemoIndex else { throw fail("memo index out of range") }
        memo[index] = top
    }
    private mutating func recall(_ index: Int) throws {
        guard let v = memo[index] else { throw fail("memo index \(index) was never stored") }
        try push(v)
    }

    private func bigInt(_ data: ArraySlice<UInt8>) -> PickleValue {
        let b = Array(data)
        if b.isEmpty { return .int(0) }
        if b.count <= 8 {
            var v: UInt64 = 0
            for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
            if b.last! & 0x80 != 0 && b.count < 8 { v |= ~UInt64(0) << (8 * UInt64(b.count)) }
            return .int(Int(Int64(bitPattern: v)))
        }
        return .bigInt(b)
    }

    private mutating func className(_ module: String, _ name: String) -> String {
        let q = module + "." + name
        if let shared = classNames[q] { return shared }
        classNames[q] = q
        return q
    }

    private mutating func checkGlobal(_ module: String, _ name: String) throws -> PickleValue {
        let q = className(module, name)
        guard PickleGlobals.isAllowed(q) else { throw WeightsError.forbiddenGlobal(file: file, global: q) }
        return .global(module: module, name: name)
    }

    /// An inert object of class `cls` built from `args` (whose depth is `height`).
    private mutating func object(_ cls: PickleValue, args: [PickleValue], height: Int, op: String) throws -> Slot {
        guard case let .global(m, n) = cls else { throw fail("\(op) on a non-class") }
        let o = track(PickleObject(className: className(m, n), args: args))
        o.height = max(1, height)
        return Slot(value: .object(o), height: 0)
    }

    /// Applies an allow-listed callable to `args` (a tuple of depth `argsHeight`). Only
    /// tensor/storage/OrderedDict constructors have meaning; the rest become inert objects.
    private mutating func apply(_ callable: PickleValue, _ args: [PickleValue], argsHeight: Int) throws -> Slot {
        guard case let .global(module, name) = callable else { throw fail("REDUCE on a non-global") }
        switch module + "." + name {
        case "collections.OrderedDict":
            let d = track(PickleDict())
            if let first = args.first, let pairs = first.sequence {
                for p in pairs { if let kv = p.sequence, kv.count == 2 { d.set(kv[0], kv[1]) } }
            }
            // Keys and values sat three levels down in `args`, so this bound is generous.
            d.height = max(1, argsHeight)
            return Slot(value: .dict(d), height: 0)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard args.count >= 4, case let .storage(s) = args[0], let offset = args[1].int,
                  let size = args[2].sequence, let stride = args[3].sequence else {
                throw fail("malformed _rebuild_tensor arguments")
            }
            let shape = try size.map { v -> Int in
                guard let i = v.int, i >= 0 else { throw fail("bad tensor size") }
                return i
            }
            let strides = try stride.map { v -> Int in
                guard let i = v.int, i >= 0 else { throw fail("bad tensor stride") }
                return i
            }
            guard shape.count == strides.count else { throw fail("tensor size/stride rank mismatch") }
            guard offset >= 0 else { throw fail("negative tensor storage offset") }
            return Slot(value: .tensor(TensorRef(storage: s, offset: offset, shape: shape, strides: strides)), height: 0)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let data = args.first else { throw fail("malformed _rebuild_parameter arguments") }
            return Slot(value: data, height: argsHeight)
        default:
            return try object(callable, args: args, height: argsHeight, op: "REDUCE")
        }
    }

    /// Runs the machine to STOP. A pickle may put a container inside itself (Python allows
    /// `[[...]]`; no checkpoint holds one); as classes, such containers would form a reference
    /// cycle that is never freed, so a load whose containers form one is refused, and a load that
    /// fails empties every container it made.
    mutating func run() throws -> PickleValue {
        do {
            let value = try runToStop()
            // A checkpoint's tuples are shared a few times (shapes, strides); 64 steps per byte of
            // pickle leaves room for that and stops a nest of shared tuples from taking forever.
            switch pickleContainersFormCycle(containers, budget: 64 * bytes.count + 1_000_000) {
            case true?: throw fail("a container holds itself (a reference cycle); no checkpoint has one")
            case nil: throw fail("tuples shared too many times over to check the containers for reference cycles")
            case false?: break
            }
            containers = []
            return value
        } catch {
            for c in containers { c.clear() }
            containers = []
            throw error
        }
    }

    /// `container`, remembered for `run`'s clean-up.
    private mutating func track<T: PickleContainer>(_ container: T) -> T {
        containers.append(container)
        return container
    }

    /// Runs until STOP and returns the top of the stack.
    private mutating func runToStop() throws -> PickleValue {
        while true {
            let op = try u8()
            switch op {
            case 0x80: _ = try u8()                                   // PROTO
            case 0x95: _ = try take(8)                                // FRAME
            case 0x2E:                                                // STOP
                guard let v = stack.popLast() else { throw fail("STOP with an empty stack") }
                return v.value
            case 0x28: marks.append(stack.count)                      // MARK
            case 0x29: try push(.tuple([]), height: 1)                // EMPTY_TUPLE
            case 0x74: try pushTuple(try popMark())                   // TUPLE
            case 0x85: let a = try pop(); try pushTuple([a])          // TUPLE1
            case 0x86: let b = try pop(); let a = try pop(); try pushTuple([a, b])
            case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); try pushTuple([a, b, c])
            case 0x5D: try push(.list(track(PickleList())))                  // EMPTY_LIST
            case 0x6C:                                                // LIST
                let items = try popMark()
                let l = track(PickleList())
                l.height = try containerHeight(items)
                l.items = items.map(\.value)
                try push(.list(l))
            case 0x61:                                                // APPEND
                let v = try pop()
                guard case let .list(l)? = stack.last?.value else { throw fail("APPEND to a non-list") }
                try grow(&l.height, child: height(v))
                l.items.append(v.value)
            case 0x65:                                                // APPENDS
                let items = try popMark()
                guard case let .list(l)? = stack.last?.value else { throw fail("APPENDS to a non-list") }
                try grow(&l.height, child: try containerHeight(items) - 1)
                l.items.append(contentsOf: items.map(\.value))
            case 0x7D: try push(.dict(track(PickleDict())))                  // EMPTY_DICT
            case 0x64:                                                // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("odd item count for DICT") }
                let d = track(PickleDict())
                d.height = try containerHeight(items)
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i].value, items[i + 1].value) }
                try push(.dict(d))
            case 0x73:                                                // SETITEM
                let v = try pop(), k = try pop()
                guard case let .dict(d)? = stack.last?.value else { throw fail("SETITEM on a non-dict") }
                try grow(&d.height, child: max(height(k), height(v)))
                d.set(k.value, v.value)
            case 0x75:                                                // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("odd item count for SETITEMS") }
                guard case let .dict(d)? = stack.last?.value else { throw fail("SETITEMS on a non-dict") }
                try grow(&d.height, child: try containerHeight(items) - 1)
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i].value, items[i + 1].value) }
            case 0x8F: try push(.set(track(PickleList())))                   // EMPTY_SET
            case 0x90:                                                // ADDITEMS
                let items = try popMark()
                guard case let .set(l)? = stack.last?.value else { throw fail("ADDITEMS on a non-set") }
                try grow(&l.height, child: try containerHeight(items) - 1)
                l.items.append(contentsOf: items.map(\.value))
            case 0x91:                                                // FROZENSET
                let items = try popMark()
                let l = track(PickleList())
                l.height = try containerHeight(items)
                l.items = items.map(\.value)
                try push(.set(l))
            case 0x71: try memoize(try u8())                          // BINPUT
            case 0x72: try memoize(try uLE(4))                        // LONG_BINPUT
            case 0x94: try memoize(memo.count)                        // MEMOIZE
            case 0x70:                                                // PUT
                guard let i = Int(try line()) else { throw fail("bad PUT index") }
                try memoize(i)
            case 0x68: try recall(try u8())                           // BINGET
            case 0x6A: try recall(try uLE(4))                         // LONG_BINGET
            case 0x67:                                                // GET
                guard let i = Int(try line()) else { throw fail("bad GET index") }
                try recall(i)
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try uLE(4)))))   // BININT
            case 0x4B: try push(.int(try u8()))                       // BININT1
            case 0x4D: try push(.int(try uLE(2)))                     // BININT2
            case 0x49:                                                // INT
                let s = try line()
                if s == "00" { try push(.bool(false)) } else if s == "01" { try push(.bool(true)) }
                else if let i = Int(s) { try push(.int(i)) } else { throw fail("bad INT literal") }
            case 0x4C:                                                // LONG
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let i = Int(s) else { throw fail("LONG literal too large") }
                try push(.int(i))
            case 0x8A: let n = try u8(); try push(bigInt(try take(n)))           // LONG1
            case 0x8B:                                                           // LONG4
                let n = try uLE(4)
                try push(bigInt(try take(n)))
            case 0x47:                                                // BINFLOAT (big-endian)
                var v: UInt64 = 0
                for b in try take(8) { v = v << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: v)))
            case 0x46:                                                // FLOAT
                guard let d = Double(try line()) else { throw fail("bad FLOAT literal") }
                try push(.float(d))
            case 0x58: let n = try uLE(4); try push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x8C: let n = try u8(); try push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x8D: let n = try uLE(8); try push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x56: try push(.string(try line()))                  // UNICODE (raw escapes kept)
            case 0x54: let n = try uLE(4); try push(.bytes(Array(try take(n))))  // BINSTRING
            case 0x55: let n = try u8(); try push(.bytes(Array(try take(n))))     // SHORT_BINSTRING
            case 0x42: let n = try uLE(4); try push(.bytes(Array(try take(n))))   // BINBYTES
            case 0x43: let n = try u8(); try push(.bytes(Array(try take(n))))     // SHORT_BINBYTES
            case 0x8E: let n = try uLE(8); try push(.bytes(Array(try take(n))))   // BINBYTES8
            case 0x96: let n = try uLE(8); try push(.bytes(Array(try take(n))))   // BYTEARRAY8
            case 0x53:                                                // STRING (quoted)
                var s = try line()
                if s.count >= 2, let f = s.first, f == "'" || f == "\"" { s = String(s.dropFirst().dropLast()) }
                try push(.string(s))
            case 0x4E: try push(.none)                                // NONE
            case 0x88: try push(.bool(true))                          // NEWTRUE
            case 0x89: try push(.bool(false))                         // NEWFALSE
            case 0x63:                                                // GLOBAL
                let module = try line(), name = try line()
                try push(try checkGlobal(module, name))
            case 0x93:                                                // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case let .string(n) = name.value, case let .string(m) = module.value else {
                    throw fail("STACK_GLOBAL needs strings")
                }
                try push(try checkGlobal(m, n))
            case 0x52:                                                // REDUCE
                let args = try pop(), callable = try pop()
                guard let a = args.value.sequence else { throw fail("REDUCE arguments are not a tuple") }
                try push(try apply(callable.value, a, argsHeight: height(args)))
            case 0x81:                                                // NEWOBJ
                let args = try pop(), cls = try pop()
                try push(try object(cls.value, args: args.value.sequence ?? [], height: height(args), op: "NEWOBJ"))
            case 0x92:                                                // NEWOBJ_EX
                _ = try pop()
                let args = try pop(), cls = try pop()
                try push(try object(cls.value, args: args.value.sequence ?? [], height: height(args), op: "NEWOBJ_EX"))
            case 0x69:                                                // INST: class by name, never called
                let module = try line(), name = try line()
                let cls = try checkGlobal(module, name)
                let items = try popMark()
                try push(try object(cls, args: items.map(\.value), height: try containerHeight(items), op: "INST"))
            case 0x6F:                                                // OBJ
                var items = try popMark()
                guard !items.isEmpty else { throw fail("OBJ without a class") }
                let cls = items.removeFirst()
                try push(try object(cls.value, args: items.map(\.value), height: try containerHeight(items), op: "OBJ"))
            case 0x62:                                                // BUILD
                let state = try pop()
                if case let .object(o)? = stack.last?.value {
                    try grow(&o.height, child: height(state))
                    o.state = state.value
                }
                // OrderedDict `_metadata` and other attribute states carry nothing we need.
            case 0x51:                                                // BINPERSID
                let pid = try pop()
                try push(try persistentLoad(pid.value), height: height(pid))
            case 0x50: try push(try persistentLoad(.string(try line())))   // PERSID
            case 0x30: _ = try pop()                                  // POP
            case 0x31: _ = try popMark()                              // POP_MARK
            case 0x32: guard let t = stack.last else { throw fail("DUP on an empty stack") }; try push(t)
            case 0x82, 0x83, 0x84:
                throw fail("extension-registry opcodes (EXT1/2/4) are not supported")
            case 0x97, 0x98:
                throw fail("out-of-band buffers are not supported")
            default:
                throw fail("unknown opcode 0x" + String(op, radix: 16))
            }
        }
    }
}

/// Entry point for standalone pickles.
public enum Pickle {
    /// Unpickles `bytes` with the non-executing machine. Persistent ids (storages) are rejected.
    public static func load(_ bytes: [UInt8], file: String) throws -> PickleValue {
        var m = PickleMachine(bytes: bytes, file: file) { _ in
            throw WeightsError.malformed(file: file, detail: "persistent id outside a torch checkpoint")
        }
        return try m.run()
    }
}
