// The fuzzing loop of one target, in process: input i is made from (seed, i) alone: the seeds
// themselves first, then generated, random or mutated inputs. Each goes through checkInput;
// the heap is sampled as the loop goes (check (c)). Findings are minimised before they are
// reported (first few of each signature).
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { withoutCanary } from './canary.js'
import { checkInput, pickCuts, spreadCuts, type Finding, type FindingKind } from './check.js'
import { mutate, randomInput } from './mutate.js'
import { Rng } from './rng.js'
import type { Target } from './target.js'

/** `--budget-ms`: a run over this is a hang */
export const DEFAULT_BUDGET_MS = 250
/** `--cuts`: random split offsets per input longer than SPLIT_EVERY_OFFSET_BYTES */
export const DEFAULT_CUTS = 2
/** `--heap-mib`: heap growth over the loop's baseline (after a full GC) that is a finding */
export const DEFAULT_HEAP_LIMIT_MIB = 256
/** how often the heap is sampled */
const HEAP_SAMPLE_MS = 20
/** the loop yields to the event loop this often (timers and merged writes of sessions run) */
const YIELD_MS = 50
/** share of inputs that are random bytes */
const RANDOM_SHARE = 0.05
/** minimising one finding stops after this long */
const MINIMIZE_MS = 3000
/** findings of one signature that are minimised and reported with their input */
export const REPORTED_PER_SIGNATURE = 3

export interface LoopOptions {
  readonly n: number
  readonly seed: number
  /** stop after this long even if fewer than n inputs ran (0: no limit) */
  readonly timeMs: number
  readonly budgetMs: number
  readonly cuts: number
  readonly heapLimitMiB: number
  readonly minimize: boolean
  /** first input index (a restarted worker continues after the input that stopped it) */
  readonly startIndex?: number
  /** called before each input runs (the worker records it for the watchdog) */
  readonly heartbeat?: (index: number, input: Buffer) => void
  /** a finding: `input` is minimised for the first few of each signature, null after that */
  readonly onFinding?: (f: Finding, index: number, input: Buffer | null, originalBytes: number) => void
  readonly onProgress?: (p: Progress) => void
}

export interface Progress {
  /** inputs run so far, from startIndex */
  readonly inputs: number
  readonly heapMaxBytes: number
  readonly slowestMs: number
}

export interface LoopStats extends Progress {
  /** inputs with at least one finding of each kind */
  readonly counts: Record<FindingKind, number>
  readonly ms: number
  readonly signatures: Map<string, { kind: FindingKind, count: number, firstIndex: number }>
}

/** gc(), reached through the V8 flag at run time (the loop needs it only when the heap is high) */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

/** Input number `index` of a run with `seed` (seeds first). */
export function makeInput(target: Target, seed: number, index: number): Buffer {
  const seeds = target.seeds()
  if (index < seeds.length) return withoutCanary(seeds[index])
  const rng = new Rng(seed, index)
  const r = rng.u32() / 0x100000000
  let input: Buffer
  if (target.generate !== undefined && r < target.generatedShare) input = target.generate(rng)
  else if (r < target.generatedShare + RANDOM_SHARE || seeds.length === 0) input = randomInput(rng, target.maxInputBytes)
  else {
    const s = rng.int(seeds.length)
    input = mutate(seeds[s], { rng, seeds, fields: fieldsOf(target, s), maxBytes: target.maxInputBytes })
  }
  return withoutCanary(input)
}

const fieldCache = new WeakMap<Target, number[][]>()

function fieldsOf(target: Target, seedIndex: number): number[] {
  let all = fieldCache.get(target)
  if (all === undefined) {
    all = target.seeds().map((s) => target.fields(s))
    fieldCache.set(target, all)
  }
  return all[seedIndex]
}

/** The split offsets input `index` is checked with (deterministic per input). */
export function cutsFor(input: Buffer, seed: number, index: number, count: number): number[] {
  return pickCuts(input.length, new Rng(seed ^ 0x5bd1e995, index), count)
}

/** inputs up to this long are split at every offset while being minimised */
const MINIMIZE_EVERY_OFFSET_BYTES = 256

/**
 * Delta debugging, coarse: drop ranges (halves down to single bytes) while the input still
 * gives a finding of the same kind and signature. A finding a split showed keeps its split
 * offset (moved along with what is dropped before it). Bounded by MINIMIZE_MS.
 */
export function minimize(target: Target, input: Buffer, f: Finding, budgetMs: number): Buffer {
  const deadline = performance.now() + MINIMIZE_MS
  let cut = f.cut
  const cutsOf = (length: number, at: number | undefined): number[] => {
    const cuts = spreadCuts(length, length <= MINIMIZE_EVERY_OFFSET_BYTES ? length : 32)
    if (at !== undefined && at > 0 && at < length && !cuts.includes(at)) cuts.unshift(at)
    return cuts
  }
  const same = (candidate: Buffer, at: number | undefined): boolean =>
    checkInput(target, candidate, { cuts: target.resumable ? cutsOf(candidate.length, at) : [], budgetMs })
      .findings.some((g) => g.kind === f.kind && g.signature === f.signature)
  let best = input
  for (let size = Math.max(1, best.length >> 1); size >= 1 && performance.now() < deadline; size = size === 1 ? 0 : Math.max(1, size >> 1)) {
    for (let at = 0; at < best.length && performance.now() < deadline;) {
      const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + size)])
      const movedCut = cut === undefined || cut <= at ? cut : Math.max(at, cut - size)
      if (candidate.length < best.length && same(candidate, movedCut)) {
        best = candidate
        cut = movedCut
      } else {
        at += size
      }
    }
  }
  return best
}

export async function fuzzLoop(target: Target, opts: LoopOptions): Promise<LoopStats> {
  const counts: Record<FindingKind, number> = { 'crash': 0, 'hang': 0, 'never-sent': 0, 'split': 0, 'heap': 0 }
  const signatures = new Map<string, { kind: FindingKind, count: number, firstIndex: number }>()
  const start = performance.now()
  const heapLimit = opts.heapLimitMiB * 1024 * 1024
  let gc: (() => void) | null = null
  let baseline = -1
  let heapMax = 0
  let slowest = 0
  let lastSample = 0
  let lastYield = performance.now()
  let lastProgress = performance.now()
  const first = opts.startIndex ?? 0
  const seedCount = target.seeds().length
  let i = first
  for (; i < opts.n; i++) {
    if (opts.timeMs > 0 && performance.now() - start > opts.timeMs) break
    const input = makeInput(target, opts.seed, i)
    opts.heartbeat?.(i, input)
    const cuts = target.resumable ? cutsFor(input, opts.seed, i, opts.cuts) : []
    const r = checkInput(target, input, { cuts, budgetMs: opts.budgetMs })
    slowest = Math.max(slowest, r.maxMs)
    const findings: Finding[] = [...r.findings]

    const now = performance.now()
    if (now - lastSample > HEAP_SAMPLE_MS || r.maxMs > opts.budgetMs) {
      lastSample = now
      let used = process.memoryUsage().heapUsed
      heapMax = Math.max(heapMax, used)
      if (baseline < 0 && i >= Math.min(opts.n - 1, first + seedCount)) {
        gc ??= gcFunction()
        gc()
        baseline = process.memoryUsage().heapUsed
      } else if (baseline >= 0 && used - baseline > heapLimit) {
        gc ??= gcFunction()
        gc()
        used = process.memoryUsage().heapUsed
        if (used - baseline > heapLimit) {
          findings.push({ kind: 'heap', signature: `over ${opts.heapLimitMiB} MiB`, detail: `heap ${mib(used)} MiB after input ${i} and a full GC; ${mib(baseline)} MiB at the start` })
          baseline = used // report growth once per limit's worth
        }
      }
    }

    const kinds = new Set<FindingKind>()
    for (const f of findings) {
      kinds.add(f.kind)
      const key = `${f.kind}: ${f.signature}`
      let sig = signatures.get(key)
      if (sig === undefined) {
        sig = { kind: f.kind, count: 0, firstIndex: i }
        signatures.set(key, sig)
      }
      sig.count++
      let reported: Buffer | null = null
      if (sig.count <= REPORTED_PER_SIGNATURE) {
        reported = opts.minimize && (f.kind === 'crash' || f.kind === 'never-sent' || f.kind === 'split')
          ? minimize(target, input, f, opts.budgetMs)
          : input
      }
      opts.onFinding?.(f, i, reported, input.length)
    }
    for (const k of kinds) counts[k]++

    if (performance.now() - lastYield > YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve))
      lastYield = performance.now()
      if (lastYield - lastProgress > 250) {
        lastProgress = lastYield
        opts.onProgress?.({ inputs: i + 1 - first, heapMaxBytes: heapMax, slowestMs: slowest })
      }
    }
  }
  return { inputs: i - first, counts, ms: performance.now() - start, signatures, heapMaxBytes: heapMax, slowestMs: slowest }
}

export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0)
}
