// Relay case of the load benchmark (issue 11): the CPU that push relays cost the node that
// pushes, against the same stream with no push, measured in the same run.
//
//   ffmpeg -re -stream_loop -1 -c copy (CPU 1)
//        │ RTMP publish live/s1
//        ▼
//   edge under test (CPU 0): application live { live on; cache_time 1s; push rtmp://127.0.0.1:<port k> app=live; … }
//        │ one push leg per line (k = 1..N; none for the baseline N = 0)
//        ▼
//   N targets (edge, or nginx-rtmp with --target nginx; CPU 1) ◀── one player each (scripts/load/player.c, CPU 1)
//
// Each run starts everything fresh on ports picked free at run time. Warm-up: one player on the
// edge under test, then one on every target, must each see a keyframe (the stream is published
// and every leg pushes); they leave before the window. Then one player per target joins and,
// once every one of them has settled, the edge's user+sys CPU (/proc/<pid>/stat) is read at both
// ends of a fixed window; that CPU over the window's wall time is "CPU s per s of stream".
// A run counts only when every target's player got ≥ 95 % of the media's bitrate over that
// window and the edge was still running, so a broken push cannot make the bench look cheap.
// Repeats are interleaved (N = 0, 1, 4, 8, then again) so that drift touches every N alike; each
// ratio is taken against the baseline of the same repeat, and every figure is the median over
// the repeats (STYLE rule 10). Writes <out>/relay.md.
//
//   npm run bench:load -- --case relay [--pushes 1,4,8] [--repeat 3] [--window 20] [--settle 4]
//                         [--target edge|nginx] [--kbps 2000] [--out docs/bench] [--merge-time <ms>]
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { CLIENT_CPU, makeTempDir, median, removeTempDir, SERVER_CPU, sleep, spawnPublisher, stop } from './children.js'
import { ensureMedia, mediaBitrate, root } from './media.js'
import { ensurePlayer, runPlayers, type PlayersRun } from './players.js'
import { cpuSeconds } from './proc.js'
import { nginxMissing, startEdge, startNginx } from './servers.js'

export interface RelayOptions {
  /** the push counts measured against the baseline N = 0 */
  pushes: number[]
  repeat: number
  windowSeconds: number
  settleSeconds: number
  target: 'edge' | 'nginx'
  kbps: number
  outDir: string
  /** edge's merge_time ('' for its default) */
  mergeTime: string
  /** the command line, for the report */
  command: string
}

/** a target's player must get at least this fraction of the media's bitrate over the window */
const MIN_DELIVERY = 0.95
/** warm-up players per server before the run is given up */
const WARM_UP_TRIES = 5
/** players open at once: one per process */
const PLAYER_RATE = 100
const STREAM_PATH = 'live/s1'

interface RelayRun {
  pushes: number
  /** edge CPU seconds per wall second over the window */
  cpuPerSecond: number
  /** the lowest delivery among the targets' players, fraction of the bitrate (NaN for N = 0) */
  minDelivery: number
  error?: string
}

/** the last lines of a server's log, to say why it exited */
function logTail(file: string): string {
  if (!existsSync(file)) return ''
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ')
  return lines === '' ? '' : `: ${lines}`
}

/** One player per port until each has seen a keyframe; the ports (indexes) that never did. */
async function warmUp(player: string, pid: number, ports: number[]): Promise<number[]> {
  let cold = ports.map((_, i) => i)
  for (let i = 0; i < WARM_UP_TRIES && cold.length > 0; i++) {
    const runs = await Promise.all(cold.map((k) => runPlayers(player, pid,
      { protocol: 'rtmp', port: ports[k], path: STREAM_PATH, count: 1, rate: PLAYER_RATE, windowSeconds: 1, settleSeconds: 1.5 })))
    cold = cold.filter((_, j) => !(runs[j].report.players[0]?.ttff >= 0))
  }
  return cold
}

async function measureRelay(player: string, n: number, media: { file: string, bitrate: number }, o: RelayOptions): Promise<RelayRun> {
  const dir = makeTempDir(`edge-load-relay${n}-`)
  const run: RelayRun = { pushes: n, cpuPerSecond: NaN, minDelivery: NaN }
  const targets: ChildProcess[] = []
  let edgeProc: ChildProcess | null = null
  let publisher: ChildProcess | null = null
  try {
    const targetPorts: number[] = []
    for (let k = 0; k < n; k++) {
      const sub = join(dir, `target-${k + 1}`)
      mkdirSync(sub)
      const t = o.target === 'nginx' ? await startNginx(sub, CLIENT_CPU) : await startEdge(sub, CLIENT_CPU, '')
      targets.push(t.proc)
      targetPorts.push(t.rtmpPort)
    }
    const pushLines = targetPorts.map((p) => ` push rtmp://127.0.0.1:${p} app=live;`).join('')
    const edge = await startEdge(dir, SERVER_CPU, `cache_time 1s;${o.mergeTime === '' ? '' : ` merge_time ${o.mergeTime}ms;`}${pushLines}`)
      .catch((err: Error) => { throw new Error(`${err.message}${logTail(join(dir, 'edge.log'))}`) })
    edgeProc = edge.proc
    const pid = edge.proc.pid!
    publisher = spawnPublisher(media.file, `rtmp://127.0.0.1:${edge.rtmpPort}/${STREAM_PATH}`, dir)
    if ((await warmUp(player, pid, [edge.rtmpPort])).length > 0) throw new Error('no keyframe reached a warm-up player on the edge')
    const cold = await warmUp(player, pid, targetPorts)
    if (cold.length > 0) throw new Error(`no keyframe reached a warm-up player on target ${cold.map((k) => k + 1).join(', ')} of ${n}: nothing pushed`)

    // the window: one player per target, the edge's CPU read once all of them have settled
    let started = 0
    let allStarted!: () => void
    const settled = new Promise<void>((resolve) => { allStarted = resolve })
    const verifiers = targetPorts.map((port) => runPlayers(player, pid, {
      protocol: 'rtmp', port, path: STREAM_PATH, count: 1, rate: PLAYER_RATE, windowSeconds: o.windowSeconds, settleSeconds: o.settleSeconds,
      onWindowStart: () => { if (++started === n) allStarted() },
    }))
    const done = Promise.all(verifiers)
    if (n === 0) await sleep(o.settleSeconds * 1000)
    else await Promise.race([settled, done.then(() => { throw new Error('a target\'s player ended before its window') })])
    const [cpu0, t0] = [cpuSeconds(pid), performance.now()]
    await sleep(o.windowSeconds * 1000)
    const [cpu1, t1] = [cpuSeconds(pid), performance.now()]
    const reports: PlayersRun[] = await done
    if (edge.proc.exitCode !== null || edge.proc.signalCode !== null) throw new Error(`edge exited during the window${logTail(join(dir, 'edge.log'))}`)
    run.cpuPerSecond = (cpu1 - cpu0) / ((t1 - t0) / 1000)
    const delivery = reports.map(({ report }) => {
      const p = report.players[0]
      return p === undefined || p.error !== '' ? 0 : (p.bytes * 8) / report.windowSeconds / media.bitrate
    })
    run.minDelivery = n === 0 ? NaN : Math.min(...delivery)
    const short = delivery.map((d, k) => ({ d, k })).filter(({ d }) => d < MIN_DELIVERY)
    if (short.length > 0) {
      const e = reports[short[0].k].report.players[0]?.error
      run.error = `${short.length} of ${n} targets got < ${MIN_DELIVERY * 100} % of the bitrate, e.g. target ${short[0].k + 1}: ` +
        `${(short[0].d * 100).toFixed(1)} %${e !== undefined && e !== '' ? ` (${e})` : ''}`
    }
  } catch (err) {
    run.error = (err as Error).message
  } finally {
    for (const p of [publisher, edgeProc, ...targets]) if (p !== null) await stop(p)
    removeTempDir(dir)
  }
  return run
}

// ---- report -------------------------------------------------------------------------------------------

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '—')
const valid = (r: RelayRun | undefined): r is RelayRun => r !== undefined && r.error === undefined && Number.isFinite(r.cpuPerSecond)

/** The same repeat's runs at N = `a` and N = `b`, where both counted. */
function paired(runs: RelayRun[][], a: number, b: number): Array<{ base: number, cpu: number }> {
  return runs.map((rep) => [rep[a], rep[b]] as const).filter(([x, y]) => valid(x) && valid(y))
    .map(([x, y]) => ({ base: x.cpuPerSecond, cpu: y.cpuPerSecond }))
}

/**
 * One row per N: medians over the repeats, ratios and increments against the same repeat's
 * N = 0, and (when N = 1 was run) what each target after the first adds: the first leg also
 * pays the stream's RTMP encoding, which every further leg shares.
 */
function table(counts: number[], runs: RelayRun[][], o: RelayOptions): string {
  const one = counts.indexOf(1)
  const out = [
    '| push targets (N) | valid runs | edge CPU (s per s of stream) | each run | vs N = 0 | per target (CPU s per s) | per target vs N = 0 | ' +
    'each target after the first (CPU s per s) | targets\' lowest delivery |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  for (const [i, n] of counts.entries()) {
    const ok = runs.map((rep) => rep[i]).filter(valid)
    const pairs = paired(runs, 0, i)
    const after = one === -1 || n < 2 ? NaN : median(paired(runs, one, i).map((p) => (p.cpu - p.base) / (n - 1)))
    const cpu = median(ok.map((r) => r.cpuPerSecond))
    const ratio = median(pairs.map((p) => p.cpu / p.base))
    const inc = median(pairs.map((p) => (p.cpu - p.base) / n))
    const incRatio = median(pairs.map((p) => (p.cpu - p.base) / n / p.base))
    const lowest = Math.min(...ok.map((r) => r.minDelivery))
    const each = runs.map((rep) => (valid(rep[i]) ? fmt(rep[i].cpuPerSecond, 4) : '✗')).join(' / ')
    out.push(n === 0
      ? `| 0 (baseline) | ${ok.length}/${o.repeat} | ${fmt(cpu, 4)} | ${each} | baseline | — | — | — | — |`
      : `| ${n} | ${ok.length}/${o.repeat} | ${fmt(cpu, 4)} | ${each} | ${fmt(ratio, 2)}${Number.isFinite(ratio) ? '×' : ''} | ${inc >= 0 ? '+' : ''}${fmt(inc, 4)} | ` +
        `${incRatio >= 0 ? '+' : ''}${fmt(incRatio, 2)}${Number.isFinite(incRatio) ? '×' : ''} | ` +
        `${after >= 0 ? '+' : ''}${fmt(after, 4)} | ${ok.length === 0 ? '—' : `${fmt(lowest * 100, 1)} %`} |`)
  }
  const errors = runs.flatMap((rep, r) => rep.filter((x) => x.error !== undefined).map((x) => `- N = ${x.pushes}, repeat ${r + 1}: ${x.error}`))
  if (errors.length > 0) out.push('', 'Runs left out:', '', ...errors)
  out.push('')
  return out.join('\n')
}

export async function runRelay(o: RelayOptions): Promise<void> {
  if (o.target === 'nginx') {
    const why = nginxMissing()
    if (why !== false) throw new Error(`--target nginx: nginx-rtmp ${why}`)
  }
  const player = ensurePlayer()
  const file = ensureMedia(o.kbps)
  const media = { file, bitrate: mediaBitrate(file) }
  const counts = [0, ...o.pushes.filter((n) => n > 0)]
  const header = [
    '# edge load benchmark: push relays',
    '',
    `Written by \`${o.command}\`. Media: ${relative(root, media.file)} at ${(media.bitrate / 1000).toFixed(0)} kbit/s, one ffmpeg publisher ` +
    `(\`-re -stream_loop -1 -c copy\`) into an edge (as shipped for an edge node, 1 s GOP cache) pinned to CPU ${SERVER_CPU} whose application ` +
    `has N \`push\` lines, each to its own ${o.target === 'nginx' ? 'nginx-rtmp' : 'edge'} target on CPU ${CLIENT_CPU}; N = 0 (no push line) is the ` +
    `baseline. Edge CPU (user+sys) over a ${o.windowSeconds} s window once one player per target has settled (${o.settleSeconds} s); ` +
    `a run counts only when every target's player got ≥ ${MIN_DELIVERY * 100} % of the bitrate. "vs N = 0" is edge CPU / the same repeat's ` +
    `baseline; "per target" is (CPU at N − baseline) / N, in CPU s per s and as a multiple of the baseline; "each target after the first" ` +
    `is (CPU at N − CPU at N = 1) / (N − 1), same repeat. Medians of ${o.repeat} ` +
    'interleaved repeat(s); "each run" lists them in order (✗: left out).',
    '',
  ].join('\n')
  console.log(header)
  const runs: RelayRun[][] = []
  for (let r = 0; r < o.repeat; r++) {
    const rep: RelayRun[] = []
    for (const n of counts) {
      const x = await measureRelay(player, n, media, o)
      process.stderr.write(`[bench:load] relay N=${n} run ${r + 1}/${o.repeat}: ${fmt(x.cpuPerSecond, 4)} CPU s/s` +
        `${n > 0 ? `, lowest target ${fmt(x.minDelivery * 100, 1)} %` : ''}${x.error === undefined ? '' : ` (left out: ${x.error})`}\n`)
      rep.push(x)
    }
    runs.push(rep)
  }
  const t = table(counts, runs, o)
  console.log(t)
  mkdirSync(o.outDir, { recursive: true })
  writeFileSync(join(o.outDir, 'relay.md'), [header, t].join('\n'))
  process.stderr.write(`[bench:load] wrote ${relative(root, join(o.outDir, 'relay.md'))}\n`)
}
