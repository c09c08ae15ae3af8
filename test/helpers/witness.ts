// Pieces of the fault tests (test/faults/): the witness stream, and what the edge process
// holds before and after a fault.
//
// The witness is a stream that has nothing to do with the fault: real ffmpeg publishes the
// test media into the edge (`-re -stream_loop -1`), and an HTTP-FLV reader in a worker thread
// (witness-reader.ts) plays it and notes when each tag arrives. A fault test asserts that the
// witness never went longer than WITNESS_MAX_GAP_MS without media during the fault window.
//
// The edge process's open file descriptors (/proc/<pid>/fd) and VmRSS (/proc/<pid>/status) are
// read before the fault and once it is over; the descriptors must come back to the baseline
// exactly. Nothing announces "the node has let go of its last socket", so pollUntil() re-reads
// /proc until the condition holds or its deadline passes: a wait on a condition, not a sleep.
import { once } from 'node:events'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import type { Socket } from 'node:net'
import { Worker } from 'node:worker_threads'
import type { Test } from 'tap'
import { publishLive, type EdgeProcess, type Publisher } from './node.js'
import {
  wallMs, type WitnessReaderInit, type WitnessReaderMessage, type WitnessReaderRequest, type WitnessReport,
} from './witness-reader.js'

export { wallMs } from './witness-reader.js'

export const MiB = 1024 * 1024
/** the longest the witness may go without an audio or video tag while a fault runs */
export const WITNESS_MAX_GAP_MS = 1000
/** bound on the witness's publisher reaching the edge and its first tag reaching the reader */
export const WITNESS_START_MS = 15_000
/**
 * The shortest window the witness is watched over: a fault that is over in a few milliseconds
 * is still followed by this much media before the witness is judged
 */
export const WITNESS_MIN_WINDOW_MS = 2000
/** RSS may stand this much above the baseline once a fault is over (heap growth, GC timing) */
export const RSS_SLACK_BYTES = 20 * MiB
/** bound on the edge letting go of every descriptor of a fault once its clients are gone */
export const SETTLE_MS = 10_000
/** how often pollUntil() re-reads /proc */
const POLL_MS = 50

// ---- the edge process, from /proc ------------------------------------------------------------

export interface ProcSample {
  /** open file descriptors: entries of /proc/<pid>/fd */
  readonly fds: number
  /** VmRSS of /proc/<pid>/status, in bytes */
  readonly rssBytes: number
}

export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  if (rss === null) throw new Error(`no VmRSS for pid ${pid}`)
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssBytes: Number(rss[1]) * 1024 }
}

/** What each open descriptor of `pid` is (socket:[inode], anon_inode:[eventfd], a path …), for failure messages. */
export function fdTargets(pid: number): string[] {
  const out: string[] = []
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${fd}`))
    } catch (err) {
      // the descriptor was closed between readdir and readlink
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return out.sort()
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`
}

/**
 * Resolves true once `cond()` holds, re-checked every POLL_MS, or false after `timeoutMs`: for
 * conditions no event announces (what /proc says of another process, a log re-read).
 */
export async function pollUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  return true
}

/** The highest VmRSS of `pid` seen while it runs: a sample every `everyMs` until stop(). */
export class RssPeak {
  peakBytes = 0
  private readonly timer: NodeJS.Timeout

  constructor(private readonly pid: number, everyMs = 100) {
    this.sample()
    this.timer = setInterval(() => this.sample(), everyMs)
  }

  private sample(): void {
    try {
      this.peakBytes = Math.max(this.peakBytes, procSample(this.pid).rssBytes)
    } catch (err) {
      // the process is gone: the test's other assertions say so
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }

  stop(): number {
    clearInterval(this.timer)
    this.sample()
    return this.peakBytes
  }
}

/**
 * Once a fault is over and its clients are gone: the edge's descriptors come back to
 * `base.fds` (waited for, bounded by SETTLE_MS) and its RSS is within `rssSlackBytes` of
 * `base.rssBytes`.
 */
export async function expectBaseline(t: Test, edge: EdgeProcess, base: ProcSample, baseFds: readonly string[],
  rssSlackBytes = RSS_SLACK_BYTES): Promise<void> {
  const pid = edge.child.pid as number
  let now = procSample(pid)
  // a timeout is reported by the equality below, with what the descriptors are
  await pollUntil(() => (now = procSample(pid)).fds === base.fds, SETTLE_MS)
  t.equal(now.fds, base.fds, `the edge holds ${now.fds} descriptors, as before the fault (${base.fds})`)
  if (now.fds !== base.fds) {
    const before = new Set(baseFds)
    t.comment(`descriptors not in the baseline: ${fdTargets(pid).filter((f) => !before.has(f)).join(', ')}`)
  }
  t.ok(now.rssBytes <= base.rssBytes + rssSlackBytes,
    `edge RSS ${mib(now.rssBytes)} after the fault, baseline ${mib(base.rssBytes)} (limit +${mib(rssSlackBytes)})`)
}

/** The baseline of a fault test: a sample and what the descriptors are. */
export function baseline(edge: EdgeProcess): { base: ProcSample, fds: string[] } {
  const pid = edge.child.pid as number
  // the same process whose RSS and descriptors the test reads (`env` execs node, keeping the PID)
  if (!/edge\.js/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'))) throw new Error(`pid ${pid} is not the edge`)
  return { base: procSample(pid), fds: fdTargets(pid) }
}

// ---- sockets the tests open ------------------------------------------------------------------

/** A client connection and when the server closed it (null while open). */
export interface Tracked {
  readonly socket: Socket
  readonly localPort: number
  readonly openedAt: number
  closedAt: number | null
}

/** Note when `socket` (already connected) closes; a reset counts as a close. */
export function track(socket: Socket, openedAt = wallMs()): Tracked {
  const tr: Tracked = { socket, localPort: socket.localPort ?? 0, openedAt, closedAt: null }
  socket.on('error', () => {})
  socket.once('close', () => { tr.closedAt = wallMs() })
  return tr
}

/** Resolves once every tracked socket has closed; rejects after `timeoutMs` naming how many are open. */
export async function allClosed(list: readonly Tracked[], timeoutMs: number, what: string): Promise<void> {
  const open = list.filter((x) => x.closedAt === null)
  if (open.length === 0) return
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${list.filter((x) => x.closedAt === null).length} of ${list.length} ${what} still open after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([Promise.all(open.map((x) => (x.closedAt !== null ? null : once(x.socket, 'close')))), limit])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The log as entries: one line each, unless something wrote a line break into one (an [alert]
 * with a stack trace, or a peer's bytes logged raw); every entry starts with its date.
 */
export function logEntries(log: string): string[] {
  return log.replace(/\n$/, '').split(/\n(?=\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d )/).filter((e) => e !== '')
}

/** Log lines by the client port they name (`client: 127.0.0.1:<port>`), parsed once. */
export function linesByPeerPort(log: string): Map<number, string[]> {
  const out = new Map<number, string[]>()
  for (const line of log.split('\n')) {
    const m = /client: [0-9a-f.:]*:(\d+)(?:,|$)/.exec(line)
    if (m === null) continue
    const port = Number(m[1])
    const list = out.get(port)
    if (list === undefined) out.set(port, [line])
    else list.push(line)
  }
  return out
}

// ---- the witness -----------------------------------------------------------------------------

export interface FlowSummary {
  /** the longest time without a tag, window edges included */
  readonly maxGapMs: number
  /** when that gap began */
  readonly gapStartMs: number
  /** tags received in each whole second of the window */
  readonly perSecond: number[]
}

/** The gaps of `arrivals` over [fromMs, toMs]. */
export function flowSummary(arrivals: readonly number[], fromMs: number, toMs: number): FlowSummary {
  let prev = fromMs
  let maxGapMs = 0
  let gapStartMs = fromMs
  const perSecond = new Array<number>(Math.max(0, Math.floor((toMs - fromMs) / 1000))).fill(0)
  for (const a of arrivals) {
    if (a < fromMs || a > toMs) continue
    if (a - prev > maxGapMs) {
      maxGapMs = a - prev
      gapStartMs = prev
    }
    prev = a
    const s = Math.floor((a - fromMs) / 1000)
    if (s < perSecond.length) perSecond[s]++
  }
  if (toMs - prev > maxGapMs) {
    maxGapMs = toMs - prev
    gapStartMs = prev
  }
  return { maxGapMs, gapStartMs, perSecond }
}

export class Witness {
  private constructor(
    readonly name: string,
    readonly publisher: Publisher,
    private readonly worker: Worker,
  ) {}

  /**
   * ffmpeg publishes the test media to rtmp://127.0.0.1:<rtmpPort>/live/<name>, and the reader
   * plays http://127.0.0.1:<httpPort>/flv/<name>.flv?app=live (an HTTP-FLV location at /flv).
   * Resolves once the first tag has arrived; both are stopped in t's teardown.
   */
  static async start(t: Test, edge: EdgeProcess, rtmpPort: number, httpPort: number, name = 'witness'): Promise<Witness> {
    const publisher = await publishLive(t, edge, rtmpPort, WITNESS_START_MS, name)
    const init: WitnessReaderInit = { port: httpPort, target: `/flv/${name}.flv?app=live` }
    const worker = new Worker(new URL('./witness-reader.js', import.meta.url), { workerData: init })
    t.teardown(() => worker.terminate())
    const first = once(worker, 'message', { signal: AbortSignal.timeout(WITNESS_START_MS) })
    const [m] = await first as [WitnessReaderMessage]
    if (m.kind !== 'media') throw new Error(`witness reader: ${JSON.stringify(m)}`)
    return new Witness(name, publisher, worker)
  }

  /** What the reader has seen so far. */
  async report(): Promise<WitnessReport> {
    const m = await this.ask({ kind: 'report' }, 'report', 5000)
    if (m.kind !== 'report') throw new Error('unreachable')
    return m.report
  }

  /** When the first tag at or after `afterMs` arrived, waiting for it (bounded by `timeoutMs`). */
  async mediaAfter(afterMs: number, timeoutMs: number): Promise<number> {
    const m = await this.ask({ kind: 'after', afterMs }, 'after', timeoutMs)
    if (m.kind !== 'after') throw new Error('unreachable')
    return m.atMs
  }

  private async ask(req: WitnessReaderRequest, answer: WitnessReaderMessage['kind'], timeoutMs: number): Promise<WitnessReaderMessage> {
    const signal = AbortSignal.timeout(Math.ceil(timeoutMs))
    this.worker.postMessage(req)
    try {
      for (;;) {
        const [m] = await once(this.worker, 'message', { signal }) as [WitnessReaderMessage]
        if (m.kind === answer) return m
      }
    } catch (err) {
      if (signal.aborted) throw new Error(`witness: no ${answer} answer within ${timeoutMs} ms (media stopped?)`)
      throw err
    }
  }

  /**
   * The witness received media all through the fault, from `fromMs` (a wallMs() time) until it
   * received a tag at least WITNESS_MIN_WINDOW_MS later and at or after `toMs` (default: now):
   * no gap over WITNESS_MAX_GAP_MS, its connection open, its FLV well formed, and the ffmpeg
   * publisher still running.
   */
  async expectFlowing(t: Test, fromMs: number, toMs = wallMs()): Promise<FlowSummary> {
    let end = Math.max(toMs, fromMs + WITNESS_MIN_WINDOW_MS)
    try {
      end = await this.mediaAfter(end, end - wallMs() + WITNESS_MAX_GAP_MS + 5000)
    } catch (err) {
      t.fail((err as Error).message)
    }
    const r = await this.report()
    const s = flowSummary(r.arrivals, fromMs, end)
    t.ok(s.maxGapMs <= WITNESS_MAX_GAP_MS,
      `witness: longest gap without media ${Math.round(s.maxGapMs)} ms over the ${Math.round(end - fromMs)} ms from the fault on ` +
      `(at +${Math.round(s.gapStartMs - fromMs)} ms; limit ${WITNESS_MAX_GAP_MS}); tags per second: ${s.perSecond.join(' ')}`)
    t.notOk(r.closed, 'witness: the player is still connected')
    t.equal(r.error, null, 'witness: the FLV it received is well formed')
    t.equal(this.publisher.child.exitCode, null, 'witness: the ffmpeg publisher is still running')
    return s
  }
}
