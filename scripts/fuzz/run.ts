// `npm run fuzz -- [--target NAME[,NAME]] [--n N] [--seed S] [--time-ms T] [--budget-ms B]
//  [--cuts C] [--heap-mib M] [--no-minimize]`: the fuzzing harness of issue 9.
//
//   main thread ── per target ──► worker (worker.ts): fuzzLoop ─► checkInput per input
//        ▲   watchdog: shared heartbeat                 │ findings (minimised input)
//        └──────────────────────────────────────────────┘
//   findings ─► fuzz-crashes/<target>/<kind>-<hash>.bin (+ .txt), one line per target, exit 1
//
// Targets run one after another (the machine is shared). A worker whose heartbeat stops for
// the hard timeout is ended and its input reported as a hang; a worker that dies (out of heap)
// has its input reported as a crash; either way the next worker starts after that input.
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { Worker } from 'node:worker_threads'
import { FINDING_KINDS, type FindingKind } from './check.js'
import { findingsDir, repoRoot } from './corpus.js'
import { DEFAULT_BUDGET_MS, DEFAULT_CUTS, DEFAULT_HEAP_LIMIT_MIB, REPORTED_PER_SIGNATURE, mib } from './loop.js'
import { TARGET_NAMES, isTargetName, makeTarget, type TargetName } from './targets/index.js'
import { HEARTBEAT_HEADER_BYTES, HEARTBEAT_INPUT_BYTES, type WorkerInput, type WorkerMessage } from './protocol.js'

/** default --n */
const DEFAULT_INPUTS = 10_000
/** a worker's heartbeat may stop this long (or 20 budgets, if more) before it is ended */
const HARD_TIMEOUT_MS = 10_000
/** the old-space limit of a worker: an input that needs more is a crash, not a dead machine */
const WORKER_HEAP_MIB = 1536
const WATCHDOG_POLL_MS = 200

interface Args {
  targets: TargetName[]
  n: number
  seed: number
  timeMs: number
  budgetMs: number
  cuts: number
  heapMiB: number
  minimize: boolean
}

const USAGE = `usage: npm run fuzz -- [--target NAME[,NAME...]] [--n N] [--seed S] [--time-ms T]
                        [--budget-ms B] [--cuts C] [--heap-mib M] [--no-minimize] [--list]
  --target     targets to run (default: all): ${TARGET_NAMES.join(', ')}
  --n          inputs per target, seeds included (default ${DEFAULT_INPUTS})
  --seed       run seed; input i of a target depends on (seed, i) only (default 1)
  --time-ms    stop each target after this long (default: no limit)
  --budget-ms  a single run over this is a hang (default ${DEFAULT_BUDGET_MS})
  --cuts       random split offsets per input over 64 bytes (default ${DEFAULT_CUTS}; shorter: every offset)
  --heap-mib   heap growth over the start (after a full GC) that is a finding (default ${DEFAULT_HEAP_LIMIT_MIB})
  --no-minimize  save findings as found`

function parseArgs(argv: string[]): Args {
  const a: Args = { targets: [...TARGET_NAMES], n: DEFAULT_INPUTS, seed: 1, timeMs: 0, budgetMs: DEFAULT_BUDGET_MS, cuts: DEFAULT_CUTS, heapMiB: DEFAULT_HEAP_LIMIT_MIB, minimize: true }
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v)
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number, got ${v ?? 'nothing'}`)
    return Math.floor(n)
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    switch (flag) {
      case '--target': {
        const names = (argv[++i] ?? '').split(',').filter((s) => s !== '')
        for (const n of names) if (!isTargetName(n)) throw new Error(`unknown target "${n}" (targets: ${TARGET_NAMES.join(', ')})`)
        a.targets = names as TargetName[]
        break
      }
      case '--n': a.n = num(flag, argv[++i]); break
      case '--seed': a.seed = num(flag, argv[++i]); break
      case '--time-ms': a.timeMs = num(flag, argv[++i]); break
      case '--budget-ms': a.budgetMs = num(flag, argv[++i]); break
      case '--cuts': a.cuts = num(flag, argv[++i]); break
      case '--heap-mib': a.heapMiB = num(flag, argv[++i]); break
      case '--no-minimize': a.minimize = false; break
      case '--list':
        for (const n of TARGET_NAMES) console.log(`${n.padEnd(8)} ${makeTarget(n).about}`)
        process.exit(0)
        break
      case '-h':
      case '--help':
        console.log(USAGE)
        process.exit(0)
        break
      default: throw new Error(`unknown option "${flag}"\n${USAGE}`)
    }
  }
  return a
}

interface Summary {
  inputs: number
  /** input indexes with at least one finding of each kind */
  readonly byKind: Record<FindingKind, Set<number>>
  heapMaxBytes: number
  slowestMs: number
  readonly signatures: Map<string, number>
  /** the worker died in the fuzzer's own code (making an input), not in a run */
  harnessFailed: boolean
}

function save(target: string, kind: string, signature: string, detail: string, index: number, seed: number, input: Buffer): string {
  const dir = join(findingsDir, target)
  mkdirSync(dir, { recursive: true })
  const hash = createHash('sha1').update(input).digest('hex').slice(0, 12)
  const file = join(dir, `${kind}-${hash}.bin`)
  writeFileSync(file, input)
  writeFileSync(join(dir, `${kind}-${hash}.txt`), `target: ${target}\nkind: ${kind}\nsignature: ${signature}\nseed: ${seed}, input #${index}\n\n${detail}\n`)
  return relative(repoRoot, file)
}

type WorkerEnd = { how: 'done' } | { how: 'stopped', index: number, kind: FindingKind, why: string, input: Buffer | null }

/** Run one worker from `startIndex`; resolves when it finishes, hangs or dies. */
function runWorker(name: TargetName, args: Args, startIndex: number, timeMs: number, summary: Summary): Promise<WorkerEnd> {
  const heartbeat = new SharedArrayBuffer(HEARTBEAT_HEADER_BYTES + HEARTBEAT_INPUT_BYTES)
  const header = new Int32Array(heartbeat, 0, 2)
  Atomics.store(header, 0, startIndex - 1)
  const data: WorkerInput = {
    target: name,
    opts: { n: args.n, seed: args.seed, timeMs, budgetMs: args.budgetMs, cuts: args.cuts, heapLimitMiB: args.heapMiB, minimize: args.minimize, startIndex },
    heartbeat,
  }
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: data,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MIB },
    execArgv: [...process.execArgv, '--enable-source-maps'], // stacks name lib/*.ts lines
  })
  const current = (): { index: number, input: Buffer | null } => {
    const index = Atomics.load(header, 0)
    const len = Atomics.load(header, 1)
    // copy: the shared memory is reused by the next worker
    return { index, input: len < 0 ? null : Buffer.from(new Uint8Array(heartbeat, HEARTBEAT_HEADER_BYTES, len)) }
  }
  const hardMs = Math.max(HARD_TIMEOUT_MS, 20 * args.budgetMs)
  return new Promise((resolve) => {
    let settled = false
    let lastIndex = -2
    let lastChange = performance.now()
    const finish = (end: WorkerEnd): void => {
      if (settled) return
      settled = true
      clearInterval(watchdog)
      resolve(end)
    }
    const watchdog = setInterval(() => {
      const index = Atomics.load(header, 0)
      const now = performance.now()
      if (index !== lastIndex) {
        lastIndex = index
        lastChange = now
      } else if (now - lastChange > hardMs) {
        const c = current()
        finish({ how: 'stopped', index: c.index, kind: 'hang', why: `no progress for ${hardMs} ms: worker ended`, input: c.input })
        void worker.terminate()
      }
    }, WATCHDOG_POLL_MS)
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'finding') {
        const kind = m.kind as FindingKind
        summary.byKind[kind].add(m.index)
        const key = `${kind}: ${m.signature}`
        const seen = summary.signatures.get(key) ?? 0
        summary.signatures.set(key, seen + 1)
        if (m.input !== null && seen < REPORTED_PER_SIGNATURE) {
          const input = Buffer.from(m.input.buffer, m.input.byteOffset, m.input.byteLength)
          const file = save(name, kind, m.signature, m.detail, m.index, args.seed, input)
          if (seen === 0) {
            const size = input.length === m.originalBytes ? `${input.length} bytes` : `${input.length} bytes, minimised from ${m.originalBytes}`
            console.log(`  ${name} #${m.index} ${kind}: ${m.signature}\n    → ${file} (${size})`)
          }
        }
      } else if (m.type === 'progress') {
        summary.heapMaxBytes = Math.max(summary.heapMaxBytes, m.heapMaxBytes)
        summary.slowestMs = Math.max(summary.slowestMs, m.slowestMs)
      } else {
        summary.heapMaxBytes = Math.max(summary.heapMaxBytes, m.heapMaxBytes)
        summary.slowestMs = Math.max(summary.slowestMs, m.slowestMs)
        summary.inputs += m.inputs
        finish({ how: 'done' })
      }
    })
    worker.on('error', (err: Error & { code?: string }) => {
      const c = current()
      finish({ how: 'stopped', index: c.index, kind: 'crash', why: `worker died: ${err.code ?? err.name}: ${err.message}\n${err.stack ?? ''}`, input: c.input })
    })
    worker.on('exit', (code) => {
      const c = current()
      finish({ how: 'stopped', index: c.index, kind: 'crash', why: `worker exited with ${code} before it finished`, input: c.input })
    })
  })
}

async function runTarget(name: TargetName, args: Args): Promise<Summary> {
  const byKind = Object.fromEntries(FINDING_KINDS.map((k) => [k, new Set<number>()])) as Record<FindingKind, Set<number>>
  const summary: Summary = { inputs: 0, byKind, heapMaxBytes: 0, slowestMs: 0, signatures: new Map(), harnessFailed: false }
  const start = performance.now()
  let next = 0
  while (next < args.n) {
    const left = args.timeMs > 0 ? args.timeMs - (performance.now() - start) : 0
    if (args.timeMs > 0 && left <= 0) break
    const end = await runWorker(name, args, next, args.timeMs > 0 ? left : 0, summary)
    if (end.how === 'done') break
    if (end.index < next) {
      // stopped before its first input: the harness itself failed, every restart would too
      console.log(`  ${name}: the fuzzer failed before input #${next}: ${end.why}`)
      summary.harnessFailed = true
      break
    }
    // the worker counted nothing it did not report: inputs up to the one that stopped it ran
    summary.inputs += end.index + 1 - next
    summary.byKind[end.kind].add(end.index)
    const signature = end.why.split('\n')[0].replace(/\d+/g, 'N')
    const key = `${end.kind}: ${signature}`
    const seen = summary.signatures.get(key) ?? 0
    summary.signatures.set(key, seen + 1)
    const where = end.input === null ? '(input too large to record)' : save(name, end.kind, signature, end.why, end.index, args.seed, end.input)
    console.log(`  ${name} #${end.index} ${end.kind}: ${end.why.split('\n')[0]}\n    → ${where}`)
    next = end.index + 1
  }
  const seconds = (performance.now() - start) / 1000
  const b = summary.byKind
  console.log(`${name}: ${summary.inputs} inputs, ${b.crash.size} crashes, ${b.hang.size} hangs, ${b['never-sent'].size} never-sent bytes, ` +
    `heap max ${mib(summary.heapMaxBytes)} MiB, ${seconds.toFixed(1)} s; ${b.split.size} split mismatches, ${b.heap.size} over heap limit, slowest run ${summary.slowestMs.toFixed(0)} ms`)
  for (const [sig, count] of summary.signatures) console.log(`    ${count}× ${sig}`)
  return summary
}

async function main(): Promise<void> {
  let args: Args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (err) {
    console.error((err as Error).message)
    process.exitCode = 2
    return
  }
  console.log(`fuzz: ${args.targets.join(', ')}; n ${args.n}, seed ${args.seed}${args.timeMs > 0 ? `, time ${args.timeMs} ms` : ''}, budget ${args.budgetMs} ms; findings in ${relative(repoRoot, findingsDir)}/`)
  let failed = false
  for (const name of args.targets) {
    const s = await runTarget(name, args)
    if (s.harnessFailed || FINDING_KINDS.some((k) => s.byKind[k].size > 0)) failed = true
  }
  process.exitCode = failed ? 1 : 0
}

await main()
