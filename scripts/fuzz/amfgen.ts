// Structure-aware AMF inputs: random AMF0 and AMF3 values written byte by byte (not through
// lib/amf, so the encoder under test does not shape its own input). Lengths and counts are
// drawn from interesting values (the 7/14/16/21-bit edges of the U16 and U29 fields), and
// a small share of inputs carry a bulk block: tens of thousands of containers followed by a
// chain of objects that each reference the one before twice (a DAG). Reference indexes are
// valid where the generator can know them, and sometimes deliberately not.
import type { Rng } from './rng.js'

/** lengths at the edges of AMF's length fields */
const STRING_LENGTHS = [0, 1, 2, 15, 16, 17, 31, 32, 33, 127, 128, 255, 256, 16383, 16384, 65534, 65535, 65536, 65537]
/** container counts of a bulk block: at and around the 16-bit reference index */
const BULK_COUNTS = [0, 1, 255, 256, 65534, 65535, 65536, 65537, 70000]
/** deepest DAG chain of a bulk block: its cost may double per level, so it stays bounded */
export const MAX_DAG_DEPTH = 20
/** share of generated inputs with a bulk block or a string over 16 KiB */
const BIG_SHARE = 0.02

const KEYS = ['duration', 'width', 'height', 'videodatarate', 'framerate', 'fps', 'videocodecid', 'audiodatarate',
  'audiocodecid', 'encoder', 'filesize', 'app', 'tcUrl', 'flashVer', 'objectEncoding', '__proto__', 'constructor', '0', '1', '']

function u16(v: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(v & 0xffff)
  return b
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(v >>> 0)
  return b
}

function f64(v: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeDoubleBE(v)
  return b
}

function text(rng: Rng, big: boolean): Buffer {
  if (rng.chance(0.5)) return Buffer.from(rng.pick(KEYS), 'utf8')
  let len = rng.pick(STRING_LENGTHS)
  if (len > 1024 && !big) len = rng.small(64)
  if (rng.chance(0.1)) return Buffer.from('é€😀'.repeat(Math.ceil(len / 9)), 'utf8').subarray(0, len) // multi-byte, maybe cut mid-character
  return Buffer.alloc(len, 0x61 + rng.int(26))
}

function number(rng: Rng): number {
  return rng.pick([0, -0, 1, -1, 0.5, 2 ** 53, -(2 ** 31), 2 ** 32, NaN, Infinity, -Infinity, 1e308, 5e-324, rng.u32()])
}

// ---- AMF3 ----------------------------------------------------------------------------------

export function u29(v: number): Buffer {
  v &= 0x1fffffff
  if (v < 0x80) return Buffer.from([v])
  if (v < 0x4000) return Buffer.from([0x80 | (v >> 7), v & 0x7f])
  if (v < 0x200000) return Buffer.from([0x80 | (v >> 14), 0x80 | ((v >> 7) & 0x7f), v & 0x7f])
  return Buffer.from([0x80 | (v >> 22), 0x80 | ((v >> 15) & 0x7f), 0x80 | ((v >> 8) & 0x7f), v & 0xff])
}

/** AMF3 writer state: how many strings, objects and traits the decoder will have tabled */
class Amf3Gen {
  strings = 0
  objects = 0
  traits = 0
  readonly parts: Buffer[] = []

  constructor(private readonly rng: Rng, private readonly big: boolean) {}

  private put(...b: Buffer[]): void {
    this.parts.push(...b)
  }

  string(allowRef = true): void {
    const rng = this.rng
    if (allowRef && this.strings > 0 && rng.chance(0.2)) {
      this.put(u29((rng.chance(0.9) ? rng.int(this.strings) : this.strings + rng.int(4)) << 1))
      return
    }
    const s = text(rng, this.big)
    this.put(u29((s.length << 1) | 1), s)
    if (s.length > 0) this.strings++
  }

  value(depth: number): void {
    const rng = this.rng
    const leaf = depth > 4 || rng.chance(0.4)
    const marker = leaf ? rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]) : rng.pick([9, 0x0a, 0x0a, 0x10, 0x11])
    this.put(Buffer.from([marker]))
    switch (marker) {
      case 4: this.put(u29(rng.u32())); return
      case 5: this.put(f64(number(rng))); return
      case 6: this.string(); return
      case 7:
      case 0x0b:
      case 8:
      case 0x0c: {
        if (this.objects > 0 && rng.chance(0.2)) {
          this.put(u29(rng.int(this.objects + 1) << 1))
          return
        }
        if (marker === 8) this.put(u29(1), f64(number(rng)))
        else {
          const s = text(rng, this.big)
          this.put(u29((s.length << 1) | 1), s)
        }
        this.objects++
        return
      }
      case 0x0d:
      case 0x0e:
      case 0x0f: {
        const n = rng.small(8)
        this.put(u29((n << 1) | 1), Buffer.from([rng.int(2)]))
        for (let i = 0; i < n; i++) this.put(marker === 0x0f ? f64(number(rng)) : u32(rng.u32()))
        this.objects++
        return
      }
      case 9: {
        const slot = this.objects++
        const dense = rng.small(6)
        this.put(u29((dense << 1) | 1))
        const assoc = rng.chance(0.3) ? 1 + rng.small(3) : 0
        for (let i = 0; i < assoc; i++) {
          this.string()
          this.value(depth + 1)
        }
        this.put(u29(1))
        for (let i = 0; i < dense; i++) {
          if (rng.chance(0.15)) this.put(Buffer.from([9]), u29(rng.int(slot + 1) << 1)) // a reference, maybe to itself (a cycle)
          else this.value(depth + 1)
        }
        return
      }
      case 0x0a: {
        if (this.objects > 0 && rng.chance(0.15)) {
          this.put(u29(rng.int(this.objects) << 1))
          return
        }
        this.objects++
        let sealed = 0
        let dynamic = true
        if (this.traits > 0 && rng.chance(0.3)) {
          this.put(u29((rng.int(this.traits) << 2) | 1))
          sealed = -1 // unknown here: members follow the referenced traits
        } else {
          sealed = rng.small(3)
          dynamic = rng.chance(0.7)
          this.put(u29((sealed << 4) | (dynamic ? 8 : 0) | (rng.chance(0.03) ? 4 : 0) | 3))
          this.string() // class name
          for (let i = 0; i < sealed; i++) this.string()
          this.traits++
        }
        for (let i = 0; i < Math.max(0, sealed); i++) this.value(depth + 1)
        if (dynamic) {
          const n = rng.small(4)
          for (let i = 0; i < n; i++) {
            this.string()
            this.value(depth + 1)
          }
          this.put(u29(1))
        }
        return
      }
      case 0x10: {
        this.objects++
        const n = rng.small(4)
        this.put(u29((n << 1) | 1), Buffer.from([0]))
        this.string()
        for (let i = 0; i < n; i++) this.value(depth + 1)
        return
      }
      default:
        return // 0-3: no body; 0x11 dictionary: the decoder refuses it
    }
  }

  /** an array: `count` empty objects, then a chain where each object holds the one before twice */
  bulk(count: number, depth: number): void {
    const top = this.objects++
    this.put(Buffer.from([9]), u29(((count + depth + 1) << 1) | 1), u29(1))
    // one sealed, non-dynamic, member-less traits; every later object references it
    const traits = this.traits++
    for (let i = 0; i < count; i++) {
      this.put(Buffer.from([0x0a]), i === 0 ? Buffer.from([0x03, 0x01]) : u29((traits << 2) | 1))
      this.objects++
    }
    let prev = this.objects++
    this.put(Buffer.from([9]), u29(1), u29(1)) // the first link: an empty array
    for (let i = 0; i < depth; i++) {
      const link = this.objects++
      this.put(Buffer.from([9]), u29((2 << 1) | 1), u29(1), Buffer.from([9]), u29(prev << 1), Buffer.from([9]), u29(prev << 1))
      prev = link
    }
    void top
  }

  /** a dynamic object whose one key is `keyBytes` long (the AMF3 U29 length reaches 2^28) */
  longKey(keyBytes: number): void {
    this.objects++
    this.traits++
    this.put(Buffer.from([0x0a, 0x0b, 0x01]), u29((keyBytes << 1) | 1), Buffer.alloc(keyBytes, 0x6b), Buffer.from([0x04, 0x01, 0x01]))
  }
}

/** One AMF3 value, as the amf3 target decodes it (or an avmplus value carries it). */
export function generateAmf3(rng: Rng): Buffer {
  const big = rng.chance(BIG_SHARE)
  const g = new Amf3Gen(rng, big)
  if (big && rng.chance(0.5)) {
    if (rng.chance(0.5)) g.bulk(rng.pick(BULK_COUNTS), 1 + rng.int(MAX_DAG_DEPTH))
    else g.longKey(rng.pick([65535, 65536, 65537, 70000, 100000]))
  } else {
    g.value(0)
  }
  return Buffer.concat(g.parts)
}

// ---- AMF0 ----------------------------------------------------------------------------------

class Amf0Gen {
  /** containers started so far (the decoder's reference table, in start order) */
  containers = 0
  private readonly done: number[] = []
  readonly parts: Buffer[] = []

  constructor(private readonly rng: Rng, private readonly big: boolean) {}

  private put(...b: Buffer[]): void {
    this.parts.push(...b)
  }

  private str(s: Buffer): void {
    if (s.length > 0xffff) this.put(Buffer.from([0x0c]), u32(s.length), s)
    else this.put(Buffer.from([0x02]), u16(s.length), s)
  }

  private properties(depth: number): void {
    const slot = this.containers++
    const n = this.rng.small(6)
    for (let i = 0; i < n; i++) {
      const key = text(this.rng, false)
      this.put(u16(key.length), key)
      this.value(depth + 1)
    }
    this.put(Buffer.from([0, 0, 9]))
    this.done.push(slot)
  }

  value(depth: number): void {
    const rng = this.rng
    const leaf = depth > 4 || rng.chance(0.4)
    const marker = leaf ? rng.pick([0, 1, 2, 5, 6, 7, 0x0b, 0x0c, 0x0d, 0x0f]) : rng.pick([3, 3, 8, 0x0a, 0x10, 0x11])
    switch (marker) {
      case 0: this.put(Buffer.from([0]), f64(number(rng))); return
      case 1: this.put(Buffer.from([1, rng.int(3)])); return
      case 2: this.str(text(rng, this.big)); return
      case 5:
      case 6:
      case 0x0d: this.put(Buffer.from([marker])); return
      case 7: {
        // mostly a finished container; sometimes an open one (a cycle) or one out of range
        const idx = this.done.length > 0 && rng.chance(0.8) ? rng.pick(this.done) : rng.int(this.containers + 2)
        this.put(Buffer.from([7]), u16(idx))
        return
      }
      case 0x0b: this.put(Buffer.from([0x0b]), f64(number(rng)), u16(rng.u32())); return
      case 0x0c: {
        const s = text(rng, this.big)
        this.put(Buffer.from([0x0c]), u32(s.length), s)
        return
      }
      case 0x0f: {
        const s = Buffer.from('<a b="c"/>')
        this.put(Buffer.from([0x0f]), u32(s.length), s)
        return
      }
      case 3: this.put(Buffer.from([3])); this.properties(depth); return
      case 8: this.put(Buffer.from([8]), u32(rng.chance(0.8) ? rng.small(8) : rng.u32())); this.properties(depth); return
      case 0x10: {
        const name = text(rng, false)
        this.put(Buffer.from([0x10]), u16(name.length), name)
        this.properties(depth)
        return
      }
      case 0x0a: {
        const slot = this.containers++
        const n = rng.small(6)
        this.put(Buffer.from([0x0a]), u32(n))
        for (let i = 0; i < n; i++) this.value(depth + 1)
        this.done.push(slot)
        return
      }
      default: // 0x11: one AMF3 value
        this.put(Buffer.from([0x11]), generateAmf3(rng))
    }
  }
}

/**
 * An AMF0 data or command body: mostly `@setDataFrame` / `onMetaData` and an object, as a
 * publisher sends it, sometimes a command, sometimes any values.
 */
export function generateAmf0(rng: Rng): Buffer {
  const big = rng.chance(BIG_SHARE)
  const g = new Amf0Gen(rng, big)
  // a big value goes where it is re-encoded: after @setDataFrame onMetaData (metadata.ts)
  const head = big ? 0 : rng.int(4)
  const name = (s: string): void => { g.parts.push(Buffer.from([2]), u16(s.length), Buffer.from(s)) }
  if (head === 0) { name('@setDataFrame'); name('onMetaData') } else if (head === 1) name('onMetaData')
  else if (head === 2) { name(rng.pick(['connect', 'publish', 'play', 'createStream', 'onStatus'])); g.parts.push(Buffer.from([0]), f64(rng.small(10))) }
  const n = 1 + rng.small(3)
  for (let i = 0; i < n; i++) {
    if (big && i === 0 && rng.chance(0.5)) {
      g.parts.push(Buffer.from([0x11]))
      const a3 = new Amf3Gen(rng, true)
      if (rng.chance(0.5)) a3.bulk(rng.pick(BULK_COUNTS), 1 + rng.int(MAX_DAG_DEPTH))
      else a3.longKey(rng.pick([65535, 65536, 65537, 70000]))
      g.parts.push(Buffer.concat(a3.parts))
    } else {
      g.value(0)
    }
  }
  return Buffer.concat(g.parts)
}
