// A small seeded PRNG for the fuzzer: every input is made from (run seed, input index) alone,
// so one input can be made again without replaying the ones before it.

/** sfc32 (Chris Doty-Humphrey's Small Fast Counter): 128-bit state, passes PractRand to 2^40+ */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9
    this.b = seed >>> 0
    this.c = stream >>> 0
    this.d = 1
    for (let i = 0; i < 12; i++) this.u32() // mix the seed into all four words
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }

  /** an integer in [0, n) for n ≥ 1 */
  int(n: number): number {
    if (n <= 0x100000000) return Math.floor((this.u32() / 0x100000000) * n)
    return Math.floor(((this.u32() * 0x100000000 + this.u32()) / 2 ** 64) * n)
  }

  /** an integer in [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  /** small numbers much more often than large ones: 0 .. max */
  small(max: number): number {
    const bits = this.int(Math.ceil(Math.log2(max + 1)) + 1)
    return Math.min(max, this.int(2 ** bits))
  }

  bytes(n: number): Buffer {
    // alloc, not allocUnsafe: the fuzzer's own buffers never carry the canary
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i += 4) {
      const v = this.u32()
      b[i] = v & 0xff
      if (i + 1 < n) b[i + 1] = (v >>> 8) & 0xff
      if (i + 2 < n) b[i + 2] = (v >>> 16) & 0xff
      if (i + 3 < n) b[i + 3] = v >>> 24
    }
    return b
  }
}
