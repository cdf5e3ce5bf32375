import Foundation

/// A JSON value: what a results record holds where each task writes its own fields (`test_mode`,
/// `metrics`). Integers and other numbers are distinct cases so that a value read back is written
/// with the same digits: `1` stays `1` and `1.0` stays `1.0`.
public enum JSONValue: Sendable, Equatable {
    /// `null` (the tools write NaN metrics as null).
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without a fraction or exponent, e.g. `224`.
    case int(Int)
    /// Any other number, e.g. `0.875` or `1.0`.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; its keys are written sorted.
    case object([String: JSONValue])
}

// MARK: accessors

extension JSONValue {
    /// The string, or nil for any other value.
    public var string: String? { if case let .string(s) = self { return s }; return nil }

    /// The boolean, or nil for any other value (numbers are not booleans).
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }

    /// The number as a `Double` (an integer or not), or nil for any other value (booleans are not numbers).
    public var number: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }

    /// The number as an `Int` when it is a whole number in `Int`'s range (`50000` or `50000.0`),
    /// else nil.
    public var integer: Int? {
        switch self {
        case let .int(i): return i
        case let .double(d): return d.rounded() == d && abs(d) < 0x1p63 ? Int(d) : nil
        default: return nil
        }
    }

    /// The elements of an array, or nil for any other value.
    public var array: [JSONValue]? { if case let .array(a) = self { return a }; return nil }

    /// The members of an object, or nil for any other value.
    public var object: [String: JSONValue]? { if case let .object(o) = self { return o }; return nil }

    /// An object's member `key`; nil when absent or when this is not an object.
    public subscript(key: String) -> JSONValue? { object?[key] }

    /// What kind of value this is, for messages: "null", "a boolean", "an integer", "a number",
    /// "a string", "an array", "an object".
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

// MARK: Foundation objects (JSONSerialization, and the tools' JSON writer)

extension JSONValue {
    /// Parses JSON text. Integers and other numbers stay apart as they were written (`JSONDecoder`
    /// reads `1.0` as an integer, which would then be written back as `1`).
    /// - Throws: `JSONSerialization`'s error when `data` is not JSON.
    public init(parsing data: Data) throws {
        let parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        // JSONSerialization returns nothing else than what init(foundation:) takes.
        self = JSONValue(foundation: parsed) ?? .null
    }

    /// The value of a Foundation JSON object: what `JSONSerialization` returns (`NSNumber`,
    /// `NSString`, `NSArray`, `NSDictionary`, `NSNull`) or the Swift values the tools build
    /// (`Bool`, `Int`, `Double`, `String`, arrays and `[String: Any]`). A `Float` is taken at its
    /// shortest decimal (`0.05`, not `0.0500000007`). Nil for anything else.
    public init?(foundation v: Any) {
        switch v {
        case let b as Bool where type(of: v) == Bool.self: self = .bool(b)
        case let i as Int where type(of: v) == Int.self: self = .int(i)
        case let d as Double where type(of: v) == Double.self: self = .double(d)
        case let f as Float where type(of: v) == Float.self: self = .double(Double("\(f)") ?? Double(f))
        case let s as String: self = .string(s)
        case is NSNull: self = .null
        case let n as NSNumber:
            // Values parsed by Foundation arrive as NSNumber, which casts to Bool, Int and Double alike.
            switch String(cString: n.objCType) {
            case "c", "B": self = .bool(n.boolValue)
            case "d", "f": self = .double(n.doubleValue)
            case "Q": self = n.uint64Value <= UInt64(Int.max) ? .int(Int(n.uint64Value)) : .double(n.doubleValue)
            default: self = .int(n.intValue)
            }
        case let a as [Any]:
            var out = [JSONValue]()
            out.reserveCapacity(a.count)
            for x in a {
                guard let j = JSONValue(foundation: x) else { return nil }
                out.append(j)
            }
            self = .array(out)
        case let o as [String: Any]:
            var out = [String: JSONValue](minimumCapacity: o.count)
            for (k, x) in o {
                guard let j = JSONValue(foundation: x) else { return nil }
                out[k] = j
            }
            self = .object(out)
        default:
            // An optional inside `Any` (a `[String: Any?]` member): its value, or null.
            let m = Mirror(reflecting: v)
            guard m.displayStyle == .optional else { return nil }
            guard let wrapped = m.children.first?.value else { self = .null; return }
            guard let j = JSONValue(foundation: wrapped) else { return nil }
            self = j
        }
    }

    /// The value as the Swift values the tools' JSON writer takes: `NSNull`, `Bool`, `Int`,
    /// `Double`, `String`, `[Any]`, `[String: Any]`.
    public var foundationValue: Any {
        switch self {
        case .null: return NSNull()
        case let .bool(b): return b
        case let .int(i): return i
        case let .double(d): return d
        case let .string(s): return s
        case let .array(a): return a.map(\.foundationValue)
        case let .object(o): return o.mapValues(\.foundationValue)
        }
    }
}

// MARK: Codable

extension JSONValue: Codable {
    /// Decodes any JSON value. Through `JSONDecoder` a whole number written as `1.0` comes back as
    /// `.int(1)`; `init(parsing:)` keeps it `.double(1.0)`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else if let o = try? c.decode([String: JSONValue].self) { self = .object(o) }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value") }
    }

    /// Encodes the value as it is.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .int(i): try c.encode(i)
        case let .double(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }
}

// MARK: literals, so that fixed settings read as JSON: ["mode": "whole", "aug_test": false]

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// A number with a fraction.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object (a key given twice keeps the last value).
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
}
