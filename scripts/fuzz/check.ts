// The per-input checks of issue 9, shared by `npm run fuzz`, the smoke test and the
// regression replay:
//   (a) crash:      an exception that is not an EdgeError (ProtocolError, ConfError, ...)
//   (b) hang:       a run over the per-input time budget (measured, wall clock)
//   (d) never-sent: an emitted byte that came from unfilled memory (see canary.ts)
//   (e) split:      the input pushed in two pieces emits other messages or errors than whole
// (c), the heap bound, is watched across inputs by the loop (loop.ts).
import { CANARY_A, CANARY_B, findCanary, useCanary } from './canary.js'
import { firstDifference, hexAround, type Outcome } from './outcome.js'
import type { Rng } from './rng.js'
import type { Target } from './target.js'

export type FindingKind = 'crash' | 'hang' | 'never-sent' | 'split' | 'heap'

export const FINDING_KINDS: readonly FindingKind[] = ['crash', 'hang', 'never-sent', 'split', 'heap']

export interface Finding {
  readonly kind: FindingKind
  /** the same bug met by two inputs has the same signature */
  readonly signature: string
  readonly detail: string
  /** the split offset that showed it (split runs only) */
  readonly cut?: number
}

export interface CheckOptions {
  /** split offsets to try (resumable targets) */
  readonly cuts: readonly number[]
  /** a run taking longer is a hang */
  readonly budgetMs: number
}

export interface CheckResult {
  readonly findings: Finding[]
  /** the slowest single run, ms */
  readonly maxMs: number
}

/** inputs up to this long are split at every offset; longer ones at a few random offsets */
export const SPLIT_EVERY_OFFSET_BYTES = 64

/** The split offsets for one input: every one for short inputs, else `count` random ones. */
export function pickCuts(length: number, rng: Rng, count: number): number[] {
  if (length < 2) return []
  if (length <= SPLIT_EVERY_OFFSET_BYTES) return Array.from({ length: length - 1 }, (_, i) => i + 1)
  const cuts = new Set<number>()
  while (cuts.size < Math.min(count, length - 1)) cuts.add(1 + rng.int(length - 1))
  return [...cuts]
}

/** Every offset up to `max` cuts, else `max` spread evenly (the regression replay). */
export function spreadCuts(length: number, max: number): number[] {
  if (length < 2) return []
  if (length - 1 <= max) return Array.from({ length: length - 1 }, (_, i) => i + 1)
  return Array.from({ length: max }, (_, i) => 1 + Math.floor((i * (length - 1)) / max))
}

function timed(target: Target, input: Buffer, cut: number | null): { out: Outcome, ms: number } {
  const t0 = performance.now()
  const out = target.run(input, cut)
  return { out, ms: performance.now() - t0 }
}

export function checkInput(target: Target, input: Buffer, opts: CheckOptions): CheckResult {
  const findings: Finding[] = []
  const seen = new Set<string>()
  const add = (f: Finding): void => {
    const key = `${f.kind} ${f.signature}`
    if (seen.has(key)) return
    seen.add(key)
    findings.push(f)
  }
  let maxMs = 0
  const time = (ms: number, what: string): void => {
    maxMs = Math.max(maxMs, ms)
    if (ms > opts.budgetMs) add({ kind: 'hang', signature: `over ${opts.budgetMs} ms`, detail: `${what} took ${ms.toFixed(0)} ms (budget ${opts.budgetMs} ms)` })
  }
  const crashes = (out: Outcome, what: string, cut?: number): void => {
    for (const c of out.crashes) {
      add({ kind: 'crash', signature: crashSignature(c.name, c.message, c.stack), detail: `${what}, in ${c.at}:\n${c.stack}`, cut })
    }
  }

  try {
    useCanary(CANARY_A)
    const whole = timed(target, input, null)
    time(whole.ms, 'whole input')
    crashes(whole.out, 'whole input')
    // a hang is reported once: running it again (canary B, splits) only costs more time
    if (whole.ms > opts.budgetMs) return { findings, maxMs }
    // whole input with the other canary: made only when something needs it
    let other: Outcome | null = null
    const otherWhole = (): Outcome => {
      if (other === null) {
        useCanary(CANARY_B)
        const r = timed(target, input, null)
        time(r.ms, 'whole input (canary B)')
        other = r.out
      }
      return other
    }

    // (d) the canary searched in every emitted byte, confirmed by a run with the other one
    const candidates: { label: string, bytes: Buffer }[] = []
    for (const e of whole.out.emissions) if (e.bytes !== null) candidates.push({ label: e.label, bytes: e.bytes })
    for (const bytes of whole.out.searched) candidates.push({ label: 'searched-only output', bytes })
    for (const c of candidates) {
      const at = findCanary(c.bytes, CANARY_A)
      if (at === -1) continue
      const b = otherWhole()
      const diff = firstDifference(whole.out, b)
      const searchedB = b.searched.some((s) => findCanary(s, CANARY_B) !== -1)
      if (diff !== null || searchedB) {
        add({
          kind: 'never-sent',
          signature: `in ${kindOf(c.label)}`,
          detail: `canary at byte ${at} of ${c.label} [${c.bytes.length} bytes]: ${hexAround(c.bytes, at)}; with canary B: ${diff ?? 'canary B in searched-only output'}`,
        })
      }
      break
    }

    // a parser without split runs is still run with canary B once: a gap under 8 bytes shows there
    if (!target.resumable) {
      const unfilled = firstDifference(whole.out, otherWhole())
      if (unfilled !== null) add({ kind: 'never-sent', signature: `in ${kindOf(unfilled)}`, detail: `whole input, canary A vs B: ${unfilled}` })
    }

    // (e) split at each cut, with canary B: an unfilled byte of any length also shows here
    if (target.resumable) {
      for (const cut of opts.cuts) {
        useCanary(CANARY_B)
        const split = timed(target, input, cut)
        time(split.ms, `split at ${cut}`)
        crashes(split.out, `split at ${cut}`, cut)
        const diff = firstDifference(whole.out, split.out)
        if (diff === null) continue
        const b = otherWhole()
        const unfilled = firstDifference(whole.out, b)
        if (unfilled !== null) {
          add({ kind: 'never-sent', signature: `in ${kindOf(unfilled)}`, detail: `whole input, canary A vs B: ${unfilled}`, cut })
        }
        const splitDiff = firstDifference(b, split.out)
        if (splitDiff !== null) {
          add({ kind: 'split', signature: splitSignature(splitDiff), detail: `split at ${cut} of ${input.length}: whole vs split: ${splitDiff}`, cut })
        }
      }
    }
  } finally {
    useCanary(CANARY_A)
  }
  return { findings, maxMs }
}

/** "message csid=3 type=20" → "message": the words of a label that are not field values */
function kindOf(label: string): string {
  // a label, or a firstDifference text: "emission 3 (<label>): ..." / "emission 3: <label> vs ..."
  const m = /^emission \d+ \(([^)]*)\)/.exec(label) ?? /^emission \d+: (.*?) (?:\[|vs )/.exec(label)
  const text = m !== null ? m[1] : label
  return text.split(' ').filter((w) => !w.includes('=') && !/^\d/.test(w)).slice(0, 3).join(' ')
}

function splitSignature(diff: string): string {
  // "emission 3 (message ...): 12 vs 14 bytes" or "emission 3: error X vs none"
  const m = /^emission \d+(?: \(([^) ]+)[^)]*\))?: (\S+)/.exec(diff)
  return m === null ? diff.slice(0, 40) : `${m[1] ?? m[2]}`
}

/** name, message with numbers blanked, and the first stack frame in lib/ */
export function crashSignature(name: string, message: string, stack: string): string {
  const frame = stack.split('\n').map((l) => l.trim()).find((l) => l.includes('/lib/')) ?? ''
  const where = /at (?:(\S+) )?\(?.*\/(lib\/[^:]+):(\d+)/.exec(frame)
  const place = where === null ? '' : ` @ ${where[1] ?? '<anonymous>'} (${where[2]}:${where[3]})`
  return `${name}: ${message.replace(/\d+/g, 'N').slice(0, 100)}${place}`
}
