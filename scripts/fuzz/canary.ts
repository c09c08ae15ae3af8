// Check (d), "no emitted byte that was not in the input": in the fuzzing process every Buffer
// that Buffer.allocUnsafe / allocUnsafeSlow hands out is filled with a repeating 8-byte
// canary, so memory a parser forgets to fill carries a pattern the fuzzer can look for.
//
// Two patterns with no byte in common: the whole-input run uses CANARY_A and the split runs
// use CANARY_B, so any unfilled byte, however short the gap, makes the two runs differ; a
// search for CANARY_A then names where. A hit is only counted once a run with CANARY_B
// confirms that those bytes follow the pattern (the input might have spelled the pattern out
// itself, split by chunk headers).

/** DE AD BE EF 5A C3 3C A5 */
export const CANARY_A: Buffer = Buffer.from('deadbeef5ac33ca5', 'hex')
/** 11 22 33 44 66 77 88 99: no byte in common with CANARY_A */
export const CANARY_B: Buffer = Buffer.from('1122334466778899', 'hex')

const CANARY_BYTES = 8

let current: Buffer = CANARY_A
let installed = false
const original = { allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow }

/** The pattern fresh buffers get from now on. */
export function useCanary(pattern: Buffer): void {
  current = pattern
}

export function currentCanary(): Buffer {
  return current
}

/** Patch Buffer.allocUnsafe and Buffer.allocUnsafeSlow in this process (idempotent). */
export function installCanary(): void {
  if (installed) return
  installed = true
  Buffer.allocUnsafe = function allocUnsafeCanary(size: number): Buffer {
    const b = original.allocUnsafe(size)
    if (b.length > 0) b.fill(current)
    return b
  } as typeof Buffer.allocUnsafe
  Buffer.allocUnsafeSlow = function allocUnsafeSlowCanary(size: number): Buffer {
    const b = original.allocUnsafeSlow(size)
    if (b.length > 0) b.fill(current)
    return b
  } as typeof Buffer.allocUnsafeSlow
}

/** The unpatched Buffer.allocUnsafe (the self-test uses it to make a buffer that really is unfilled). */
export function rawAllocUnsafe(size: number): Buffer {
  return original.allocUnsafe(size)
}

/** Every rotation of a pattern: a gap that does not start at a multiple of 8 shows one of these. */
function rotations(pattern: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let r = 0; r < CANARY_BYTES; r++) out.push(Buffer.concat([pattern.subarray(r), pattern.subarray(0, r)]))
  return out
}

const ROTATIONS = new Map<Buffer, Buffer[]>([[CANARY_A, rotations(CANARY_A)], [CANARY_B, rotations(CANARY_B)]])

/** Offset of the first 8 bytes of `buf` that are a rotation of `pattern`, or -1. */
export function findCanary(buf: Buffer, pattern: Buffer = CANARY_A): number {
  if (buf.length < CANARY_BYTES) return -1
  let first = -1
  for (const rot of ROTATIONS.get(pattern) ?? rotations(pattern)) {
    const at = buf.indexOf(rot)
    if (at !== -1 && (first === -1 || at < first)) first = at
  }
  return first
}

/**
 * The input with every 8-byte window that spells a rotation of either canary broken (one bit
 * flipped), so that a canary found in what a parser emits cannot have come from the input
 * verbatim. Returns the input itself when it is clean.
 */
export function withoutCanary(input: Buffer): Buffer {
  let out = input
  for (const pattern of [CANARY_A, CANARY_B]) {
    for (let at = findCanary(out, pattern); at !== -1; at = findCanary(out, pattern)) {
      if (out === input) out = Buffer.from(input) // copy: the caller's input stays as it was
      out[at] ^= 0x01
    }
  }
  return out
}
