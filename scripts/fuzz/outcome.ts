// What one run of a target over one input produced, in order: the messages, tags, requests or
// written bytes it emitted (each a label with its fields, and the bytes if any), the typed
// errors it met, and any other exception (a crash). Two runs over the same input, whole or
// split, must produce equal outcomes.
import { EdgeError } from '../../lib/core/errors.js'

export interface Emission {
  /** kind and fields, e.g. `message csid=3 type=20 stream=0 ts=0` */
  readonly label: string
  readonly bytes: Buffer | null
}

export interface Crash {
  /** where it was caught, e.g. `ChunkReader.push` */
  readonly at: string
  readonly name: string
  readonly message: string
  readonly stack: string
}

export class Outcome {
  readonly emissions: Emission[] = []
  readonly crashes: Crash[] = []
  /** bytes handed out that are searched for the canary but not compared between runs */
  readonly searched: Buffer[] = []

  emit(label: string, bytes: Buffer | null = null): void {
    this.emissions.push({ label, bytes })
  }

  searchOnly(bytes: Buffer): void {
    this.searched.push(bytes)
  }

  /**
   * Record a thrown value: an EdgeError (the project's typed errors) is an ordinary outcome,
   * kept as an emission so that split runs must meet the same one; anything else is a crash.
   */
  caught(at: string, err: unknown): void {
    if (err instanceof EdgeError) {
      this.emit(`error ${err.name} ${err.code}: ${err.message}`)
      return
    }
    const e = err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`)
    this.crashes.push({ at, name: e.name, message: e.message, stack: e.stack ?? `${e.name}: ${e.message}` })
    this.emit(`crash at ${at}: ${e.name}: ${e.message}`)
  }

  /** Run fn; a throw is recorded (see caught) and ends fn, not the run. Returns whether fn threw. */
  guard(at: string, fn: () => void): boolean {
    try {
      fn()
      return false
    } catch (err) {
      this.caught(at, err)
      return true
    }
  }
}

/** The first place two outcomes differ, or null when they are equal. */
export function firstDifference(a: Outcome, b: Outcome): string | null {
  const n = Math.max(a.emissions.length, b.emissions.length)
  for (let i = 0; i < n; i++) {
    const x = a.emissions[i]
    const y = b.emissions[i]
    if (x === undefined) return `emission ${i}: none vs ${describe(y)}`
    if (y === undefined) return `emission ${i}: ${describe(x)} vs none`
    if (x.label !== y.label) return `emission ${i}: ${describe(x)} vs ${describe(y)}`
    if (x.bytes === null || y.bytes === null) {
      if (x.bytes !== y.bytes) return `emission ${i} (${x.label}): bytes ${x.bytes === null ? 'none' : 'some'} vs ${y.bytes === null ? 'none' : 'some'}`
      continue
    }
    if (!x.bytes.equals(y.bytes)) {
      const at = firstByteDifference(x.bytes, y.bytes)
      return `emission ${i} (${x.label}): ${x.bytes.length} vs ${y.bytes.length} bytes, first difference at byte ${at}` +
        ` (${hexAround(x.bytes, at)} vs ${hexAround(y.bytes, at)})`
    }
  }
  return null
}

export function firstByteDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return n
}

function describe(e: Emission): string {
  return e.bytes === null ? e.label : `${e.label} [${e.bytes.length} bytes]`
}

export function hexAround(b: Buffer, at: number): string {
  return b.subarray(at, Math.min(b.length, at + 8)).toString('hex') || '(end)'
}
