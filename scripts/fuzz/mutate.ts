// Input makers: mutations of seeds (bit flips, byte sets, interesting integers written at
// header fields, inserted / deleted / duplicated ranges, splices of two seeds) stacked a few
// at a time, and purely random inputs.
import type { Rng } from './rng.js'

/** values at the edges of 8/16/24/32-bit fields, of signedness, and of common limits */
const INTERESTING: readonly number[] = [
  0, 1, 2, 3, 4, 7, 8, 9, 0x0f, 0x10, 0x11, 0x1f, 0x20, 0x3f, 0x40, 0x41, 0x7f, 0x80, 0x81, 0xff,
  0x100, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0x7fffff, 0x800000, 0xfffffe, 0xffffff,
  0x1000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 128, 4096, 60000, 65536 + 1, 8192, 32768,
]

/** an interesting value, or one next to it */
function interesting(rng: Rng): number {
  const v = rng.pick(INTERESTING) + (rng.chance(0.25) ? rng.range(-2, 2) : 0)
  return v >>> 0
}

function writeInt(buf: Buffer, at: number, value: number, bytes: number, littleEndian: boolean): void {
  for (let i = 0; i < bytes && at + i < buf.length; i++) {
    const shift = 8 * (littleEndian ? i : bytes - 1 - i)
    buf[at + i] = Math.floor(value / 2 ** shift) & 0xff
  }
}

export interface MutationContext {
  readonly rng: Rng
  /** the seeds, for splicing */
  readonly seeds: readonly Buffer[]
  /** header field offsets of the buffer being mutated (may be empty) */
  readonly fields: readonly number[]
  readonly maxBytes: number
}

type Mutator = (b: Buffer, ctx: MutationContext) => Buffer

function offset(b: Buffer, ctx: MutationContext): number {
  if (ctx.fields.length > 0 && ctx.rng.chance(0.6)) {
    const f = ctx.rng.pick(ctx.fields)
    if (f < b.length) return f
  }
  return ctx.rng.int(b.length)
}

function rangeOf(b: Buffer, rng: Rng): [number, number] {
  const start = rng.int(b.length)
  const len = Math.min(b.length - start, 1 + rng.small(Math.min(4096, b.length)))
  return [start, start + len]
}

const MUTATORS: readonly [name: string, weight: number, fn: Mutator][] = [
  ['bit flip', 10, (b, { rng }) => {
    const at = rng.int(b.length)
    b[at] ^= 1 << rng.int(8)
    return b
  }],
  ['byte set', 8, (b, ctx) => {
    b[offset(b, ctx)] = ctx.rng.int(256)
    return b
  }],
  ['interesting byte', 6, (b, ctx) => {
    b[offset(b, ctx)] = interesting(ctx.rng) & 0xff
    return b
  }],
  ['interesting integer', 12, (b, ctx) => {
    const bytes = ctx.rng.pick([2, 3, 4])
    writeInt(b, offset(b, ctx), interesting(ctx.rng), bytes, ctx.rng.chance(0.2))
    return b
  }],
  ['add to integer', 5, (b, ctx) => {
    const at = offset(b, ctx)
    const bytes = ctx.rng.pick([1, 2, 3, 4])
    if (at + bytes > b.length) return b
    const v = b.readUIntBE(at, bytes) + ctx.rng.range(-16, 16)
    writeInt(b, at, v >>> 0, bytes, false)
    return b
  }],
  ['delete range', 6, (b, { rng }) => {
    const [s, e] = rangeOf(b, rng)
    return Buffer.concat([b.subarray(0, s), b.subarray(e)])
  }],
  ['insert random', 4, (b, { rng }) => {
    const at = rng.int(b.length + 1)
    return Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.small(256)), b.subarray(at)])
  }],
  ['duplicate range', 6, (b, { rng }) => {
    const [s, e] = rangeOf(b, rng)
    const at = rng.int(b.length + 1)
    const times = rng.chance(0.1) ? rng.range(2, 64) : 1
    const copies: Buffer[] = []
    for (let i = 0; i < times; i++) copies.push(b.subarray(s, e))
    return Buffer.concat([b.subarray(0, at), ...copies, b.subarray(at)])
  }],
  ['copy range over', 4, (b, { rng }) => {
    const [s, e] = rangeOf(b, rng)
    const at = rng.int(b.length)
    Buffer.from(b.subarray(s, e)).copy(b, at) // copy: source and target ranges may overlap
    return b
  }],
  ['splice', 5, (b, { rng, seeds }) => {
    const other = rng.pick(seeds)
    if (other.length === 0) return b
    const cutA = rng.int(b.length + 1)
    const cutB = rng.int(other.length)
    return Buffer.concat([b.subarray(0, cutA), other.subarray(cutB)])
  }],
  ['insert seed range', 3, (b, { rng, seeds }) => {
    const other = rng.pick(seeds)
    if (other.length === 0) return b
    const [s, e] = rangeOf(other, rng)
    const at = rng.int(b.length + 1)
    return Buffer.concat([b.subarray(0, at), other.subarray(s, e), b.subarray(at)])
  }],
  ['truncate', 3, (b, { rng }) => b.subarray(0, rng.int(b.length + 1))],
]

const TOTAL_WEIGHT = MUTATORS.reduce((n, m) => n + m[1], 0)

function pickMutator(rng: Rng): Mutator {
  let w = rng.int(TOTAL_WEIGHT)
  for (const m of MUTATORS) {
    if (w < m[1]) return m[2]
    w -= m[1]
  }
  return MUTATORS[0][2]
}

/** 1..8 stacked mutations of `seed` (which is not changed). */
export function mutate(seed: Buffer, ctx: MutationContext): Buffer {
  // copy: mutators write in place, the seed stays as it is
  let b: Buffer = Buffer.from(seed)
  const count = 1 + ctx.rng.small(7)
  for (let i = 0; i < count; i++) {
    if (b.length === 0) b = ctx.rng.bytes(1 + ctx.rng.small(64))
    b = pickMutator(ctx.rng)(b, ctx)
    if (b.length > ctx.maxBytes) b = b.subarray(0, ctx.maxBytes)
  }
  return b
}

/** Random bytes, mostly short. */
export function randomInput(rng: Rng, maxBytes: number): Buffer {
  return rng.bytes(rng.small(Math.min(maxBytes, 4096)))
}
