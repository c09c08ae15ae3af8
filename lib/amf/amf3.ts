// AMF3 decoder ("Action Message Format -- AMF 3", Adobe, January 2013), for the values a
// Flash-era client may send after an AMF0 avmplus-object-marker (0x11) or in an AMF3 command
// message. Decode only: edge never sends AMF3.
//
// Mapping to AmfValue:
//   undefined, null, false, true, integer, double, string → the JavaScript value
//   XMLDocument (0x07), XML (0x0B)                           → string (the XML text)
//   Date (0x08)                                              → Date
//   Array (0x09)                  → AmfValue[] when the associative part is empty; otherwise an
//                                   AmfObject with the associative keys and the dense values
//                                   under "0", "1", …
//   Object (0x0A)                 → AmfObject: sealed members, then dynamic members; the class
//                                   name is dropped. Externalizable objects → ERR_AMF_DECODE
//                                   (their body format is private to the class).
//   ByteArray (0x0C)              → undefined (AmfValue has no bytes type); the bytes are skipped
//   Vector int/uint/double/object → number[] / AmfValue[]
//   Dictionary (0x11)             → ERR_AMF_DECODE (keys may be any value; no client sends it)
//
// The string, object and traits reference tables live for one decodeAmf3 call. A reference to
// an object that is still being decoded (a cycle) is refused, so decoded values are trees or
// DAGs, never cycles, and can be encoded, compared and logged safely.
import type { AmfObject, AmfValue } from './value.js'
import { MAX_AMF_DEPTH, decodeError, setProperty } from './value.js'

/** AMF3 §3.1 type markers */
const enum Marker {
  Undefined = 0x00,
  Null = 0x01,
  False = 0x02,
  True = 0x03,
  Integer = 0x04,
  Double = 0x05,
  String = 0x06,
  XmlDoc = 0x07,
  Date = 0x08,
  Array = 0x09,
  Object = 0x0a,
  Xml = 0x0b,
  ByteArray = 0x0c,
  VectorInt = 0x0d,
  VectorUint = 0x0e,
  VectorDouble = 0x0f,
  VectorObject = 0x10,
  Dictionary = 0x11,
}

/** An object-table slot whose value is still being decoded (a reference to it is a cycle). */
const OPEN: unique symbol = Symbol('open')

interface Traits {
  readonly dynamic: boolean
  readonly sealed: readonly string[]
}

class Amf3Reader {
  private readonly strings: string[] = []
  private readonly objects: (AmfValue | typeof OPEN)[] = []
  private readonly traits: Traits[] = []

  constructor(private readonly buf: Buffer, public pos: number) {}

  private need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) {
      throw decodeError(`AMF3 ${what} at offset ${this.pos} needs ${n} bytes, ${this.buf.length - this.pos} left`)
    }
  }

  private u8(what: string): number {
    if (this.pos >= this.buf.length) throw decodeError(`AMF3 ${what} truncated at offset ${this.pos}`)
    return this.buf[this.pos++]
  }

  /** AMF3 §1.3.1: 1–4 bytes; the first three carry 7 bits and a continuation flag, the fourth 8 bits */
  private u29(what: string): number {
    let v = 0
    for (let i = 0; i < 3; i++) {
      const b = this.u8(what)
      if (b < 0x80) return (v << 7) | b
      v = (v << 7) | (b & 0x7f)
    }
    return (v << 8) | this.u8(what)
  }

  private f64(what: string): number {
    this.need(8, what)
    const v = this.buf.readDoubleBE(this.pos)
    this.pos += 8
    return v
  }

  private utf8(len: number, what: string): string {
    this.need(len, what)
    const s = this.buf.toString('utf8', this.pos, this.pos + len)
    this.pos += len
    return s
  }

  /** UTF-8-vr (§3.8): a string or a reference to one; the empty string is never in the table */
  private string(what: string): string {
    const h = this.u29(what)
    if ((h & 1) === 0) {
      const idx = h >>> 1
      if (idx >= this.strings.length) throw decodeError(`AMF3 string reference ${idx} out of range (${this.strings.length} strings)`)
      return this.strings[idx]
    }
    const s = this.utf8(h >>> 1, what)
    if (s.length > 0) this.strings.push(s)
    return s
  }

  private objectRef(h: number): AmfValue {
    const idx = h >>> 1
    if (idx >= this.objects.length) throw decodeError(`AMF3 object reference ${idx} out of range (${this.objects.length} objects)`)
    const v = this.objects[idx]
    if (v === OPEN) throw decodeError(`AMF3 object reference ${idx} is circular`)
    return v
  }

  /** A count of items that each take at least `minBytes`: more than the buffer holds is a lie. */
  private count(h: number, minBytes: number, what: string): number {
    const n = h >>> 1
    if (n * minBytes > this.buf.length - this.pos) {
      throw decodeError(`AMF3 ${what} at offset ${this.pos} declares ${n} items, ${this.buf.length - this.pos} bytes left`)
    }
    return n
  }

  private enter(depth: number): number {
    if (depth >= MAX_AMF_DEPTH) throw decodeError(`AMF3 value nested deeper than ${MAX_AMF_DEPTH} levels`)
    return depth + 1
  }

  /** `depth`: containers enclosing this value (AMF0 ones included) */
  value(depth: number): AmfValue {
    const at = this.pos
    const marker = this.u8('marker')
    switch (marker) {
      case Marker.Undefined: return undefined
      case Marker.Null: return null
      case Marker.False: return false
      case Marker.True: return true
      case Marker.Integer: return (this.u29('integer') << 3) >> 3 // §3.6: 29-bit two's complement
      case Marker.Double: return this.f64('double')
      case Marker.String: return this.string('string')
      case Marker.XmlDoc:
      case Marker.Xml: {
        const h = this.u29('xml')
        if ((h & 1) === 0) return this.objectRef(h)
        const s = this.utf8(h >>> 1, 'xml')
        this.objects.push(s)
        return s
      }
      case Marker.Date: {
        const h = this.u29('date')
        if ((h & 1) === 0) return this.objectRef(h)
        const d = new Date(this.f64('date'))
        this.objects.push(d)
        return d
      }
      case Marker.Array: return this.array(depth)
      case Marker.Object: return this.object(depth)
      case Marker.ByteArray: {
        const h = this.u29('byte array')
        if ((h & 1) === 0) return this.objectRef(h)
        const len = h >>> 1
        this.need(len, 'byte array')
        this.pos += len
        this.objects.push(undefined)
        return undefined
      }
      case Marker.VectorInt:
      case Marker.VectorUint:
      case Marker.VectorDouble: return this.numberVector(marker)
      case Marker.VectorObject: return this.objectVector(depth)
      case Marker.Dictionary: throw decodeError(`AMF3 dictionary at offset ${at} is not supported`)
      default: throw decodeError(`unknown AMF3 marker 0x${marker.toString(16).padStart(2, '0')} at offset ${at}`)
    }
  }

  /** §3.11: U29A-value (dense count), associative part up to the empty string, dense part */
  private array(depth: number): AmfValue {
    const h = this.u29('array')
    if ((h & 1) === 0) return this.objectRef(h)
    const inner = this.enter(depth)
    const slot = this.objects.push(OPEN) - 1
    const dense = this.count(h, 1, 'array')
    let assoc: AmfObject | null = null
    for (;;) {
      const key = this.string('array key')
      if (key === '') break
      assoc ??= {}
      setProperty(assoc, key, this.value(inner))
    }
    let result: AmfValue
    if (assoc === null) {
      const items: AmfValue[] = []
      for (let i = 0; i < dense; i++) items.push(this.value(inner))
      result = items
    } else {
      for (let i = 0; i < dense; i++) setProperty(assoc, String(i), this.value(inner))
      result = assoc
    }
    this.objects[slot] = result
    return result
  }

  /** §3.12: U29O-ref | U29O-traits-ref | U29O-traits-ext | U29O-traits, then members */
  private object(depth: number): AmfValue {
    const at = this.pos - 1
    const h = this.u29('object')
    if ((h & 1) === 0) return this.objectRef(h)
    let traits: Traits
    if ((h & 2) === 0) {
      const idx = h >>> 2
      if (idx >= this.traits.length) throw decodeError(`AMF3 traits reference ${idx} out of range (${this.traits.length} traits)`)
      traits = this.traits[idx]
    } else if ((h & 4) !== 0) {
      throw decodeError(`AMF3 externalizable object at offset ${at} is not supported`)
    } else {
      const dynamic = (h & 8) !== 0
      const sealedCount = h >>> 4
      this.string('class name')
      // each sealed member name takes at least one byte
      if (sealedCount > this.buf.length - this.pos) {
        throw decodeError(`AMF3 object at offset ${at} declares ${sealedCount} members, ${this.buf.length - this.pos} bytes left`)
      }
      const sealed: string[] = []
      for (let i = 0; i < sealedCount; i++) sealed.push(this.string('member name'))
      traits = { dynamic, sealed }
      this.traits.push(traits)
    }
    const inner = this.enter(depth)
    const slot = this.objects.push(OPEN) - 1
    const obj: AmfObject = {}
    for (const name of traits.sealed) setProperty(obj, name, this.value(inner))
    if (traits.dynamic) {
      for (;;) {
        const key = this.string('member name')
        if (key === '') break
        setProperty(obj, key, this.value(inner))
      }
    }
    this.objects[slot] = obj
    return obj
  }

  /** §3.15: U29V-value (count), fixed-vector flag, then count fixed-size items */
  private numberVector(marker: Marker): AmfValue {
    const h = this.u29('vector')
    if ((h & 1) === 0) return this.objectRef(h)
    const itemBytes = marker === Marker.VectorDouble ? 8 : 4
    const n = this.count(h, itemBytes, 'vector')
    this.need(1, 'vector')
    this.pos++ // fixed-vector flag: irrelevant once decoded
    this.need(n * itemBytes, 'vector')
    const items: number[] = []
    const buf = this.buf
    for (let i = 0; i < n; i++) {
      const p = this.pos + i * itemBytes
      items.push(marker === Marker.VectorInt ? buf.readInt32BE(p) : marker === Marker.VectorUint ? buf.readUInt32BE(p) : buf.readDoubleBE(p))
    }
    this.pos += n * itemBytes
    this.objects.push(items)
    return items
  }

  /** §3.15: U29V-value, fixed-vector flag, object-type-name, then count values */
  private objectVector(depth: number): AmfValue {
    const h = this.u29('vector')
    if ((h & 1) === 0) return this.objectRef(h)
    const inner = this.enter(depth)
    const slot = this.objects.push(OPEN) - 1
    const n = this.count(h, 1, 'vector')
    this.need(1, 'vector')
    this.pos++
    this.string('vector type name')
    const items: AmfValue[] = []
    for (let i = 0; i < n; i++) items.push(this.value(inner))
    this.objects[slot] = items
    return items
  }
}

/**
 * Decode one AMF3 value at `offset`. Returns the value and the offset just after it. Throws
 * ProtocolError ERR_AMF_DECODE on truncated, malformed or unsupported input.
 */
export function decodeAmf3(buf: Buffer, offset: number): [value: AmfValue, next: number] {
  return decodeAmf3Nested(buf, offset, 0)
}

/**
 * decodeAmf3 for amf0.ts's avmplus-object-marker: `depth` containers already enclose the value,
 * so the nesting limit holds across the switch. Fresh reference tables for this one value.
 */
export function decodeAmf3Nested(buf: Buffer, offset: number, depth: number): [value: AmfValue, next: number] {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw decodeError(`AMF3 offset ${offset} outside a ${buf.length}-byte buffer`)
  }
  const r = new Amf3Reader(buf, offset)
  const value = r.value(depth)
  return [value, r.pos]
}
