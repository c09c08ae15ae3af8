// AMF0 codec ("Action Message Format -- AMF 0", Adobe, December 2007): the encoding of RTMP
// command (type 20) and data (type 18) messages.
//
// Decoding is recursive descent over a whole message (the chunk reader hands over complete
// messages), so there is no resumable state: a value cut short is an error, not a wait. Every
// read is bounds-checked first, declared lengths and counts are never used to allocate, and
// nesting is limited, so hostile input ends in ProtocolError ERR_AMF_DECODE and nothing else.
//
// Mapping to AmfValue:
//   number, boolean, string, long string, XML document → number, boolean, string
//   null → null; undefined, unsupported → undefined; date → Date (the time-zone field is
//   ignored, as §2.13 says it should be)
//   object, typed object (class name dropped), ECMA array → AmfObject, keys in wire order
//   strict array → AmfValue[]
//   reference → the very object or array it names (same identity)
//   avmplus-object-marker → one AMF3 value (amf3.ts)
//
// Encoding writes objects as 0x03 objects, arrays as strict arrays and strings as long strings
// only when they need more than 65535 UTF-8 bytes. The size is computed first and the result is
// one Buffer of exactly that size.
import type { AmfObject, AmfValue } from './value.js'
import { MAX_AMF_DEPTH, decodeError, setProperty } from './value.js'
import { decodeAmf3Nested } from './amf3.js'

export type { AmfObject, AmfValue } from './value.js'
export { MAX_AMF_DEPTH } from './value.js'

/** AMF0 §2.1 type markers */
const enum Marker {
  Number = 0x00,
  Boolean = 0x01,
  String = 0x02,
  Object = 0x03,
  MovieClip = 0x04,
  Null = 0x05,
  Undefined = 0x06,
  Reference = 0x07,
  EcmaArray = 0x08,
  ObjectEnd = 0x09,
  StrictArray = 0x0a,
  Date = 0x0b,
  LongString = 0x0c,
  Unsupported = 0x0d,
  RecordSet = 0x0e,
  XmlDocument = 0x0f,
  TypedObject = 0x10,
  AvmPlus = 0x11,
}

/** §2.4: longest string a U16 length can carry */
const MAX_SHORT_STRING_BYTES = 0xffff
/** strings up to this many bytes are tried as ASCII in JavaScript first (see Amf0Reader.utf8) */
const SHORT_ASCII_DECODE = 16
/** §2.9: a reference is a U16 index */
const MAX_REFERENCE_INDEX = 0xffff

// ---------------------------------------------------------------------------------- decoding

class Amf0Reader {
  /**
   * §2.9: objects, typed objects, ECMA arrays and strict arrays in the order they start; null
   * while one is still being decoded (a reference to it would make a cycle).
   */
  private readonly refs: (AmfObject | AmfValue[] | null)[] = []

  constructor(private readonly buf: Buffer, public pos: number) {}

  private need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) {
      throw decodeError(`AMF0 ${what} at offset ${this.pos} needs ${n} bytes, ${this.buf.length - this.pos} left`)
    }
  }

  private u16(what: string): number {
    this.need(2, what)
    const p = this.pos
    this.pos = p + 2
    return (this.buf[p] << 8) | this.buf[p + 1]
  }

  private u32(what: string): number {
    this.need(4, what)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  private utf8(len: number, what: string): string {
    this.need(len, what)
    const start = this.pos
    const end = start + len
    this.pos = end
    if (len <= SHORT_ASCII_DECODE) {
      // property names and command names are short ASCII: building them in JavaScript avoids
      // a native call per string (about a third of connect's decode time)
      const buf = this.buf
      let s = ''
      let i = start
      for (; i < end; i++) {
        const b = buf[i]
        if (b > 0x7f) break
        s += String.fromCharCode(b)
      }
      if (i === end) return s
    }
    return this.buf.toString('utf8', start, end)
  }

  private enter(depth: number): number {
    if (depth >= MAX_AMF_DEPTH) throw decodeError(`AMF0 value nested deeper than ${MAX_AMF_DEPTH} levels`)
    return depth + 1
  }

  /** `depth`: containers enclosing this value */
  value(depth: number): AmfValue {
    const at = this.pos
    this.need(1, 'marker')
    const marker = this.buf[this.pos++]
    switch (marker) {
      case Marker.Number: {
        this.need(8, 'number')
        const v = this.buf.readDoubleBE(this.pos)
        this.pos += 8
        return v
      }
      case Marker.Boolean:
        this.need(1, 'boolean')
        return this.buf[this.pos++] !== 0
      case Marker.String: return this.utf8(this.u16('string length'), 'string')
      case Marker.Object: return this.properties(depth)
      case Marker.Null: return null
      case Marker.Undefined:
      case Marker.Unsupported: return undefined
      case Marker.Reference: {
        const idx = this.u16('reference')
        if (idx >= this.refs.length) throw decodeError(`AMF0 reference ${idx} at offset ${at} out of range (${this.refs.length} objects)`)
        const v = this.refs[idx]
        if (v === null) throw decodeError(`AMF0 reference ${idx} at offset ${at} is circular`)
        return v
      }
      case Marker.EcmaArray:
        // §2.10: the associative count is only a hint; the properties end at 00 00 09
        this.u32('ECMA array count')
        return this.properties(depth)
      case Marker.StrictArray: return this.strictArray(depth)
      case Marker.Date: {
        this.need(10, 'date')
        const ms = this.buf.readDoubleBE(this.pos)
        this.pos += 10
        return new Date(ms)
      }
      case Marker.LongString: return this.utf8(this.u32('long string length'), 'long string')
      case Marker.XmlDocument: return this.utf8(this.u32('XML document length'), 'XML document')
      case Marker.TypedObject:
        this.utf8(this.u16('class name length'), 'class name')
        return this.properties(depth)
      case Marker.AvmPlus: {
        const [v, next] = decodeAmf3Nested(this.buf, this.pos, depth)
        this.pos = next
        return v
      }
      case Marker.ObjectEnd: throw decodeError(`AMF0 object-end marker outside an object at offset ${at}`)
      case Marker.MovieClip:
      case Marker.RecordSet: throw decodeError(`AMF0 reserved marker 0x${hex2(marker)} at offset ${at}`)
      default: throw decodeError(`unknown AMF0 marker 0x${hex2(marker)} at offset ${at}`)
    }
  }

  /** §2.5: (UTF-8 key, value)* then UTF-8-empty and the object-end marker */
  private properties(depth: number): AmfObject {
    const inner = this.enter(depth)
    const slot = this.refs.push(null) - 1
    const obj: AmfObject = {}
    for (;;) {
      const keyLen = this.u16('property name length')
      if (keyLen === 0) {
        this.need(1, 'object end')
        if (this.buf[this.pos] === Marker.ObjectEnd) {
          this.pos++
          break
        }
      }
      const key = this.utf8(keyLen, 'property name')
      setProperty(obj, key, this.value(inner))
    }
    this.refs[slot] = obj
    return obj
  }

  /** §2.12: U32 count then that many values */
  private strictArray(depth: number): AmfValue[] {
    const inner = this.enter(depth)
    const count = this.u32('strict array count')
    // every value takes at least its marker byte: a larger count cannot be honest
    this.need(count, 'strict array')
    const slot = this.refs.push(null) - 1
    const items: AmfValue[] = []
    for (let i = 0; i < count; i++) items.push(this.value(inner))
    this.refs[slot] = items
    return items
  }
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0')
}

function reader(buf: Buffer, offset: number): Amf0Reader {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw decodeError(`AMF0 offset ${offset} outside a ${buf.length}-byte buffer`)
  }
  return new Amf0Reader(buf, offset)
}

/**
 * Decode one AMF0 value at `offset`. Returns the value and the offset just after it. Throws
 * ProtocolError ERR_AMF_DECODE on truncated or malformed input. References resolve within this
 * one call.
 */
export function decodeAmf0(buf: Buffer, offset: number): [value: AmfValue, next: number] {
  const r = reader(buf, offset)
  const value = r.value(0)
  return [value, r.pos]
}

/**
 * Decode AMF0 values up to the end of `buf` (a command or data message body). One reference
 * table serves the whole message, as one serializer wrote it.
 */
export function decodeAmf0All(buf: Buffer): AmfValue[] {
  const r = reader(buf, 0)
  const values: AmfValue[] = []
  while (r.pos < buf.length) values.push(r.value(0))
  return values
}

// ---------------------------------------------------------------------------------- encoding

/**
 * Two passes over the same values in the same order: measure() computes the size and records
 * every string's UTF-8 length and every object's reference decision in `plan`; write() replays
 * the plan into one Buffer of exactly that size.
 */
class Amf0Writer {
  private readonly plan: number[] = []
  private step = 0
  /** object or array → its reference index (§2.9), only once a second one is met */
  private seen: Map<object, number> | null = null
  private first: object | null = null
  private objects = 0
  /** containers being measured, innermost last: meeting one of them again is a cycle */
  private readonly open: object[] = []
  private buf: Buffer = EMPTY
  private pos = 0

  measure(v: AmfValue, depth: number): number {
    switch (typeof v) {
      case 'number': return 9
      case 'boolean': return 2
      case 'string': {
        const len = Buffer.byteLength(v, 'utf8')
        this.plan.push(len)
        return len > MAX_SHORT_STRING_BYTES ? 5 + len : 3 + len
      }
      case 'undefined': return 1
      case 'object':
        if (v === null) return 1
        if (v instanceof Date) return 11
        return this.measureContainer(v, depth)
      default: throw new TypeError(`AMF0 cannot encode a ${typeof v}`)
    }
  }

  private measureContainer(v: AmfObject | AmfValue[], depth: number): number {
    const ref = this.reference(v)
    this.plan.push(ref)
    if (ref >= 0) return 3
    if (depth >= MAX_AMF_DEPTH) throw new RangeError(`AMF0 value nested deeper than ${MAX_AMF_DEPTH} levels`)
    this.open.push(v)
    let size: number
    if (Array.isArray(v)) {
      size = 5
      for (let i = 0; i < v.length; i++) size += this.measure(v[i], depth + 1)
    } else {
      size = 1 + 3
      for (const key of Object.keys(v)) {
        const len = Buffer.byteLength(key, 'utf8')
        if (len > MAX_SHORT_STRING_BYTES) throw new RangeError(`AMF0 property name of ${len} bytes (at most ${MAX_SHORT_STRING_BYTES})`)
        this.plan.push(len)
        size += 2 + len + this.measure(v[key], depth + 1)
      }
    }
    this.open.pop()
    return size
  }

  /**
   * The reference index to write for a container met before, or -1 to write it inline (which
   * gives it the next index, as the decoder counts). Shared objects become references, so an
   * encoded DAG stays as small as the input it was decoded from.
   */
  private reference(v: object): number {
    if (this.first === null) {
      this.first = v
      this.objects = 1
      return -1
    }
    if (this.seen === null) this.seen = new Map([[this.first, 0]])
    const idx = this.seen.get(v)
    if (idx !== undefined) {
      if (this.open.includes(v)) throw new TypeError('AMF0 cannot encode a circular structure')
      if (idx <= MAX_REFERENCE_INDEX) return idx
    }
    this.seen.set(v, this.objects++)
    return -1
  }

  begin(size: number): void {
    // allocUnsafe: every byte is written below (checked in encodeAmf0)
    this.buf = Buffer.allocUnsafe(size)
  }

  get written(): number {
    return this.pos
  }

  result(): Buffer {
    return this.buf
  }

  write(v: AmfValue): void {
    const buf = this.buf
    switch (typeof v) {
      case 'number':
        buf[this.pos] = Marker.Number
        buf.writeDoubleBE(v, this.pos + 1)
        this.pos += 9
        return
      case 'boolean':
        buf[this.pos] = Marker.Boolean
        buf[this.pos + 1] = v ? 1 : 0
        this.pos += 2
        return
      case 'string': {
        const len = this.plan[this.step++]
        if (len > MAX_SHORT_STRING_BYTES) {
          buf[this.pos] = Marker.LongString
          buf.writeUInt32BE(len, this.pos + 1)
          this.pos += 5
        } else {
          buf[this.pos] = Marker.String
          buf[this.pos + 1] = len >>> 8
          buf[this.pos + 2] = len & 0xff
          this.pos += 3
        }
        this.writeUtf8(v, len)
        return
      }
      case 'undefined':
        buf[this.pos++] = Marker.Undefined
        return
      default:
        if (v === null) {
          buf[this.pos++] = Marker.Null
        } else if (v instanceof Date) {
          buf[this.pos] = Marker.Date
          buf.writeDoubleBE(v.getTime(), this.pos + 1)
          buf[this.pos + 9] = 0 // §2.13: time-zone "should be set to 0x0000"
          buf[this.pos + 10] = 0
          this.pos += 11
        } else {
          this.writeContainer(v)
        }
    }
  }

  private writeContainer(v: AmfObject | AmfValue[]): void {
    const buf = this.buf
    const ref = this.plan[this.step++]
    if (ref >= 0) {
      buf[this.pos] = Marker.Reference
      buf[this.pos + 1] = ref >>> 8
      buf[this.pos + 2] = ref & 0xff
      this.pos += 3
    } else if (Array.isArray(v)) {
      buf[this.pos] = Marker.StrictArray
      buf.writeUInt32BE(v.length, this.pos + 1)
      this.pos += 5
      for (let i = 0; i < v.length; i++) this.write(v[i])
    } else {
      buf[this.pos++] = Marker.Object
      for (const key of Object.keys(v)) {
        const len = this.plan[this.step++]
        buf[this.pos] = len >>> 8
        buf[this.pos + 1] = len & 0xff
        this.pos += 2
        this.writeUtf8(key, len)
        this.write(v[key])
      }
      buf[this.pos] = 0
      buf[this.pos + 1] = 0
      buf[this.pos + 2] = Marker.ObjectEnd
      this.pos += 3
    }
  }

  private writeUtf8(s: string, len: number): void {
    if (len === s.length && len <= SHORT_ASCII) {
      // ASCII (UTF-8 length equals UTF-16 length): a byte loop beats a native call for the
      // short names and values commands are made of
      const buf = this.buf
      const p = this.pos
      for (let i = 0; i < len; i++) buf[p + i] = s.charCodeAt(i)
    } else {
      this.buf.write(s, this.pos, len, 'utf8')
    }
    this.pos += len
  }
}

const EMPTY = Buffer.alloc(0)
/** strings up to this many ASCII bytes are copied by a JavaScript loop (see writeUtf8) */
const SHORT_ASCII = 32

/**
 * Encode `values` one after another into a single Buffer (a command message body is
 * `encodeAmf0('onStatus', 0, null, info)`). Objects keep their key order. One reference table
 * covers all the values; an object met twice is written as a reference.
 * Throws TypeError/RangeError for what AMF0 cannot carry (a cycle, a non-AMF value, a property
 * name over 65535 bytes, nesting over MAX_AMF_DEPTH): those are programming errors, not input.
 */
export function encodeAmf0(...values: AmfValue[]): Buffer {
  const w = new Amf0Writer()
  let size = 0
  for (const v of values) size += w.measure(v, 0)
  w.begin(size)
  for (const v of values) w.write(v)
  if (w.written !== size) throw new Error(`AMF0 encoder wrote ${w.written} of ${size} bytes`)
  return w.result()
}
