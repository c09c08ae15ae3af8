// Soak test (issue 9), not part of CI: does an edge node that pulls from a flapping origin, for a
// churning audience, keep its memory and its file descriptors flat over an hour?
//
//   ffmpeg -re (flapping: runs 40-90 s, pauses 5 s)
//        │ RTMP publish live/s1
//        ▼
//   origin edge (flapping: SIGTERM every ~5 min, down 10 s, restarted on the same port)
//        ▲ pull rtmp://127.0.0.1:<origin>/live (started by the first player, retried while
//        │ the origin is down, stopped when the last player leaves)
//   edge under test ◀── RTMP and HTTP-FLV players joining and leaving, ~N at a time, each
//                       staying 5-60 s (scripts/soak/players.ts)
//
// Everything runs on 127.0.0.1 on ports picked free at run time; every child is started and
// ended by PID (also on SIGINT: the first one ends the soak early and still writes the report,
// a second one kills everything at once). Every 10 s the edge under test is sampled: VmRSS
// (/proc/<pid>/status), open fds (entries of /proc/<pid>/fd), players connected and receiving,
// CPU (/proc/<pid>/stat). At the end the players leave and the edge's fd count must come back to
// its baseline (the count before the first player) within a bounded wait. Writes soak.md (the
// verdict and the samples) and soak.png (RSS and fds over time, drawn by scripts/load/plot.ts).
//
// Verdict "flat": the median RSS of the run's last quarter is within 10 % of its second
// quarter's (the first quarter is warm-up: JIT, heap growth), the fds came back to the baseline
// once the players were gone, and the edge under test never exited on its own.
//
//   npm run soak -- [--minutes 60] [--players 500] [--out docs/bench] [--kbps 500] [--flv-share 0.5]
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { freePort } from '../../test/helpers/node.js'
import { ensureMedia, mediaBitrate, root } from '../load/media.js'
import { renderPlot, type Series } from '../load/plot.js'
import { cpuSeconds, rssBytes, waitForPort } from '../load/proc.js'
import { PlayerPool } from './players.js'

const edgeBin = join(root, 'bin', 'edge.js')
const APP = 'live'
const STREAM = 's1'
const MiB = 1024 * 1024

/** how often the edge under test is sampled */
const SAMPLE_EVERY_MS = 10_000
/** the publisher runs a random time in this range, then is killed; pauses before it is restarted */
const PUBLISHER_RUN_MIN_MS = 40_000
const PUBLISHER_RUN_MAX_MS = 90_000
const PUBLISHER_PAUSE_MS = 5_000
/** the origin is stopped this often (in a short run: every half of it) and stays down this long */
const ORIGIN_EVERY_MS = 300_000
const ORIGIN_DOWN_MS = 10_000
/** attempts at restarting the origin on its port (another process may hold it for a moment) */
const ORIGIN_RESTART_ATTEMPTS = 5
/** each player stays a random time in this range */
const PLAYER_STAY_MIN_MS = 5_000
const PLAYER_STAY_MAX_MS = 60_000
/** the first N players join over this long */
const PLAYER_RAMP_MS = 10_000
/** a player counts as receiving when media reached it this recently (shorter than an origin outage) */
const RECEIVING_WITHIN_MS = 2_000
/** bound on the edge's fds coming back to the baseline after the last player left */
const FD_RETURN_WAIT_MS = 30_000
const FD_POLL_MS = 250
/** the baseline: the lowest fd count and RSS over this many reads, FD_POLL_MS apart, after start-up */
const BASELINE_READS = 8
/** a child asked to stop with SIGTERM gets this long before SIGKILL */
const STOP_GRACE_MS = 5_000
/** RSS may move this much (fraction) between the second and the last quarter */
const RSS_FLAT_TOLERANCE = 0.1
/** at most this many rows in soak.md's sample table */
const MAX_TABLE_ROWS = 60

// ---- options ------------------------------------------------------------------------------------

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i !== -1 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}

function positive(name: string, fallback: string): number {
  const v = Number(option(name, fallback))
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`--${name} must be a positive number`)
  return v
}

const minutes = positive('minutes', '60')
const playerCount = Math.round(positive('players', '500'))
const outDir = resolve(option('out', join(root, 'docs', 'bench')))
/** the publisher's media bitrate: 500 players × 500 kbit/s is 250 Mbit/s through the edge */
const mediaKbps = Math.round(positive('kbps', '500'))
const flvShare = Math.min(1, Math.max(0, Number(option('flv-share', '0.5'))))
const runMs = minutes * 60_000
/** a short trial still sees the origin go twice, and a publisher run long enough to be killed */
const originEveryMs = Math.min(ORIGIN_EVERY_MS, Math.max(ORIGIN_DOWN_MS * 3, runMs / 2))

// ---- child processes, ended by PID ----------------------------------------------------------------

class Children {
  private readonly live = new Set<ChildProcess>()

  constructor(private readonly dir: string) {}

  /**
   * Starts `cmd` with its stdout and stderr appended to <dir>/<name>.out, in a process group of
   * its own: a terminal's ^C reaches only this script, which then ends the children in order.
   */
  spawn(name: string, cmd: string, args: string[]): ChildProcess {
    const fd = openSync(join(this.dir, `${name}.out`), 'a')
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true })
    closeSync(fd)
    this.live.add(child)
    child.on('exit', () => this.live.delete(child))
    child.on('error', () => this.live.delete(child))
    return child
  }

  /** `signal` by PID, SIGKILL after STOP_GRACE_MS; resolves once it has exited. */
  async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    process.kill(child.pid, signal)
    const kill = setTimeout(() => {
      try { process.kill(child.pid!, 'SIGKILL') } catch { /* exited since */ }
    }, STOP_GRACE_MS)
    await exited
    clearTimeout(kill)
  }

  /** SIGKILL by PID to every child still running (synchronous: also used on process exit). */
  killAll(): void {
    for (const c of this.live) {
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        try { process.kill(c.pid, 'SIGKILL') } catch { /* exited since the check */ }
      }
    }
    this.live.clear()
  }
}

const running = (c: ChildProcess | null): boolean => c !== null && c.exitCode === null && c.signalCode === null

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) { resolve(); return }
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const between = (lo: number, hi: number): number => lo + Math.random() * (hi - lo)

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return NaN
  }
}

// ---- the run ------------------------------------------------------------------------------------

interface Sample {
  /** ms since the first player was started (negative: before) */
  tMs: number
  rssBytes: number
  fds: number
  /** players with an open connection */
  players: number
  /** players that received media within the last RECEIVING_WITHIN_MS */
  receiving: number
  /** the edge's CPU since the previous sample, in cores */
  edgeCpu: number
  /** this process's CPU (the players) since the previous sample, in cores */
  playersCpu: number
  originUp: boolean
  publisherUp: boolean
  /** taken after the players had left and the fds had been waited for */
  after?: boolean
}

interface Events {
  publisherStarts: number
  publisherKills: Record<'SIGTERM' | 'SIGKILL', number>
  /** publisher runs that ended on their own (the origin went away or refused) */
  publisherEnded: number
  originStops: number
  originRestartFailures: number
  /** how the edge under test ended when nobody asked it to */
  edgeExit: string | null
}

interface FdReturn {
  baseline: number
  final: number
  /** ms from the players' leaving to the fds being back at the baseline; null if they never were */
  backAfterMs: number | null
}

function nodeConf(dir: string, name: string, level: string, body: string): string {
  const file = join(dir, `${name}.conf`)
  writeFileSync(file, `daemon off;\nerror_log ${join(dir, `${name}.log`)} ${level};\npid ${join(dir, `${name}.pid`)};\nevents { worker_connections 16000; }\n${body}`)
  return file
}

async function main(): Promise<void> {
  const media = ensureMedia(mediaKbps)
  const bitrate = mediaBitrate(media)
  const dir = mkdtempSync(join(tmpdir(), 'edge-soak-'))
  const children = new Children(dir)
  process.on('exit', () => children.killAll())

  const stopSoak = new AbortController()
  let interrupts = 0
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (++interrupts === 1 && !stopSoak.signal.aborted) {
        process.stderr.write(`[soak] ${sig}: ending the soak early (again to kill everything now)\n`)
        stopSoak.abort()
        return
      }
      children.killAll()
      process.exit(130)
    })
  }

  const [originPort, rtmpPort, httpPort] = [await freePort(), await freePort(), await freePort()]
  const originConf = nodeConf(dir, 'origin', 'notice',
    `rtmp { server { listen 127.0.0.1:${originPort}; application ${APP} { live on; cache_time 1s; } } }\n`)
  const edgeConf = nodeConf(dir, 'edge', 'info',
    `rtmp { server { listen 127.0.0.1:${rtmpPort}; application ${APP} { live on; cache_time 1s; pull rtmp://127.0.0.1:${originPort}/${APP}; } } }\n` +
    `http { server { listen 127.0.0.1:${httpPort}; location /${APP} { flv_live 127.0.0.1:${rtmpPort}; } } }\n`)

  const events: Events = { publisherStarts: 0, publisherKills: { SIGTERM: 0, SIGKILL: 0 }, publisherEnded: 0, originStops: 0, originRestartFailures: 0, edgeExit: null }
  const startOrigin = async (): Promise<ChildProcess> => {
    const child = children.spawn('origin', process.execPath, [edgeBin, '-c', originConf])
    await waitForPort(originPort, child, 'origin')
    return child
  }
  let origin: ChildProcess | null = await startOrigin()
  const edge = children.spawn('edge', process.execPath, [edgeBin, '-c', edgeConf])
  let stoppingEdge = false
  edge.on('exit', (code, signal) => {
    if (stoppingEdge) return
    events.edgeExit = signal ?? `exit code ${code}`
    process.stderr.write(`[soak] the edge under test exited (${events.edgeExit}); ending the soak\n`)
    stopSoak.abort()
  })
  await waitForPort(rtmpPort, edge, 'edge')
  await waitForPort(httpPort, edge, 'edge')
  const pid = edge.pid!
  process.stderr.write(`[soak] origin :${originPort}, edge pid ${pid} rtmp :${rtmpPort} http :${httpPort}; logs in ${dir}\n`)

  // ---- the flapping publisher
  let publisher: ChildProcess | null = null
  const publishUrl = `rtmp://127.0.0.1:${originPort}/${APP}/${STREAM}`
  const publisherLoop = (async () => {
    while (!stopSoak.signal.aborted) {
      const child = children.spawn('publisher', 'ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1',
        '-i', media, '-c', 'copy', '-f', 'flv', publishUrl])
      publisher = child
      events.publisherStarts++
      const exited = once(child, 'exit')
      await Promise.race([exited, pause(between(PUBLISHER_RUN_MIN_MS, PUBLISHER_RUN_MAX_MS), stopSoak.signal)])
      if (stopSoak.signal.aborted) return // stopped with the rest at the end
      if (running(child)) {
        // both ways a publisher goes: a clean unpublish, and a connection that just drops
        const how = (events.publisherKills.SIGTERM + events.publisherKills.SIGKILL) % 2 === 0 ? 'SIGTERM' : 'SIGKILL'
        events.publisherKills[how]++
        await children.stop(child, how)
      } else {
        events.publisherEnded++
      }
      await pause(PUBLISHER_PAUSE_MS, stopSoak.signal)
    }
  })()

  // ---- the baseline: the edge listening, nothing else
  let baselineFds = Infinity
  let baselineRss = Infinity
  for (let i = 0; i < BASELINE_READS; i++) {
    await pause(FD_POLL_MS, stopSoak.signal)
    baselineFds = Math.min(baselineFds, openFds(pid))
    baselineRss = Math.min(baselineRss, rssBytes(pid))
  }

  // ---- players and samples
  const pool = new PlayerPool({
    rtmpPort, httpPort, app: APP, name: STREAM, target: playerCount, minStayMs: PLAYER_STAY_MIN_MS,
    maxStayMs: PLAYER_STAY_MAX_MS, rampMs: PLAYER_RAMP_MS, flvShare,
  })
  const t0 = Date.now()
  const samples: Sample[] = [{
    tMs: 0, rssBytes: baselineRss, fds: baselineFds, players: 0, receiving: 0, edgeCpu: NaN, playersCpu: NaN,
    originUp: running(origin), publisherUp: running(publisher),
  }]
  let last = { at: Date.now(), edgeCpu: cpuSeconds(pid), ownCpu: process.cpuUsage() }
  const sample = (after = false): Sample => {
    const now = Date.now()
    const edgeCpu = cpuSeconds(pid)
    const ownCpu = process.cpuUsage()
    const seconds = (now - last.at) / 1000
    const s: Sample = {
      tMs: now - t0, rssBytes: rssBytes(pid), fds: openFds(pid), players: pool.open, receiving: pool.receiving(RECEIVING_WITHIN_MS),
      edgeCpu: (edgeCpu - last.edgeCpu) / seconds,
      playersCpu: (ownCpu.user - last.ownCpu.user + ownCpu.system - last.ownCpu.system) / 1e6 / seconds,
      originUp: running(origin), publisherUp: running(publisher), after,
    }
    last = { at: now, edgeCpu, ownCpu }
    samples.push(s)
    return s
  }
  pool.start()
  const sampler = setInterval(() => {
    const s = sample()
    process.stderr.write(`[soak] ${(s.tMs / 60_000).toFixed(1)} min: RSS ${(s.rssBytes / MiB).toFixed(1)} MB, ${s.fds} fds, ` +
      `${s.players} players (${s.receiving} receiving), edge ${s.edgeCpu.toFixed(2)} core, players ${s.playersCpu.toFixed(2)} core` +
      `${s.originUp ? '' : ', origin down'}${s.publisherUp ? '' : ', no publisher'}\n`)
  }, SAMPLE_EVERY_MS)

  // ---- the flapping origin
  const originLoop = (async () => {
    while (!stopSoak.signal.aborted) {
      await pause(originEveryMs - ORIGIN_DOWN_MS, stopSoak.signal)
      if (stopSoak.signal.aborted || origin === null) return
      events.originStops++
      process.stderr.write('[soak] origin: SIGTERM\n')
      await children.stop(origin, 'SIGTERM')
      await pause(ORIGIN_DOWN_MS, stopSoak.signal)
      origin = null
      if (stopSoak.signal.aborted) return
      for (let i = 0; i < ORIGIN_RESTART_ATTEMPTS && origin === null; i++) {
        try {
          origin = await startOrigin()
          process.stderr.write('[soak] origin: restarted\n')
        } catch (err) {
          events.originRestartFailures++
          process.stderr.write(`[soak] origin restart failed: ${(err as Error).message}\n`)
          await sleep(ORIGIN_DOWN_MS)
        }
      }
      if (origin === null) {
        process.stderr.write('[soak] the origin could not be restarted; ending the soak\n')
        stopSoak.abort()
      }
    }
  })()

  await pause(runMs, stopSoak.signal)
  const soakMs = Date.now() - t0
  stopSoak.abort()
  clearInterval(sampler)
  await Promise.all([publisherLoop, originLoop])

  // ---- the players leave; the fds must come back
  pool.stop()
  const leftAt = Date.now()
  let backAfterMs: number | null = null
  while (Date.now() - leftAt < FD_RETURN_WAIT_MS && events.edgeExit === null) {
    if (openFds(pid) <= baselineFds) { backAfterMs = Date.now() - leftAt; break }
    await sleep(FD_POLL_MS)
  }
  const final = sample(true)
  const fdReturn: FdReturn = { baseline: baselineFds, final: final.fds, backAfterMs }
  process.stderr.write(`[soak] players gone: ${final.fds} fds (baseline ${baselineFds}), ` +
    `${backAfterMs === null ? `not back within ${FD_RETURN_WAIT_MS / 1000} s` : `back in ${(backAfterMs / 1000).toFixed(1)} s`}\n`)

  stoppingEdge = true
  await Promise.all([edge, publisher, origin].filter(running).map((c) => children.stop(c!)))
  const edgeLog = existsSync(join(dir, 'edge.log')) ? readFileSync(join(dir, 'edge.log'), 'utf8') : ''
  const edgeOut = existsSync(join(dir, 'edge.out')) ? readFileSync(join(dir, 'edge.out'), 'utf8').trim() : ''

  const report = writeReport({ samples, events, fdReturn, pool, soakMs, bitrate, media, edgeLog, edgeOut })
  process.stderr.write(`[soak] ${report.verdict}\n[soak] wrote ${join(outDir, 'soak.md')} and soak.png\n`)
  if (report.flat && edgeOut === '') rmSync(dir, { recursive: true, force: true })
  else process.stderr.write(`[soak] logs kept in ${dir}\n`)
  process.exitCode = report.flat ? 0 : 1
}

// ---- the report ---------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const mb = (bytes: number): string => (bytes / MiB).toFixed(1)
const fixed = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '—')
const times = (n: number): string => `${n} time${n === 1 ? '' : 's'}`
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`

interface ReportInput {
  samples: Sample[]
  events: Events
  fdReturn: FdReturn
  pool: PlayerPool
  soakMs: number
  bitrate: number
  media: string
  edgeLog: string
  edgeOut: string
}

function writeReport(r: ReportInput): { flat: boolean, verdict: string } {
  const during = r.samples.filter((s) => s.after !== true)
  const quarter = (q: number): Sample[] => during.filter((s) => s.tMs >= (q - 1) * r.soakMs / 4 && s.tMs < q * r.soakMs / 4 + (q === 4 ? 1 : 0))
  const q2 = median(quarter(2).map((s) => s.rssBytes))
  const q4 = median(quarter(4).map((s) => s.rssBytes))
  const drift = (q4 - q2) / q2
  const reasons: string[] = []
  const rssFlat = Number.isFinite(drift) && Math.abs(drift) <= RSS_FLAT_TOLERANCE
  if (!Number.isFinite(drift)) reasons.push('the run is too short to have a second and a last quarter')
  else if (!rssFlat) reasons.push(`RSS moved ${signed(drift)} from the second quarter to the last (limit ±${RSS_FLAT_TOLERANCE * 100} %)`)
  const fdsBack = r.fdReturn.backAfterMs !== null
  if (!fdsBack) reasons.push(`the fds stayed at ${r.fdReturn.final}, above the baseline ${r.fdReturn.baseline}, ${FD_RETURN_WAIT_MS / 1000} s after the players left`)
  if (r.events.edgeExit !== null) reasons.push(`the edge under test exited on its own (${r.events.edgeExit})`)
  if (r.edgeOut !== '') reasons.push('the edge under test wrote to stdout/stderr (see below)')
  const flat = reasons.length === 0
  const verdict = flat
    ? `Verdict: flat. Median RSS ${mb(q4)} MB over the last quarter vs ${mb(q2)} MB over the second (${signed(drift)}, limit ±${RSS_FLAT_TOLERANCE * 100} %); ` +
      `open fds back at the baseline ${r.fdReturn.baseline} ${(r.fdReturn.backAfterMs! / 1000).toFixed(1)} s after the last player left.`
    : `Verdict: not flat: ${reasons.join('; ')}.`

  const rss = r.samples.map((s) => s.rssBytes)
  const fds = r.samples.map((s) => s.fds)
  const first = r.samples[0]
  const end = r.samples[r.samples.length - 1]
  const c = r.pool.counts
  const joined = c.joined.rtmp + c.joined.flv
  const population = during.slice(1).map((s) => s.players)
  const levels = new Map<string, number>()
  for (const m of r.edgeLog.matchAll(/^\S+ \S+ \[(\w+)\]/gm)) levels.set(m[1], (levels.get(m[1]) ?? 0) + 1)
  const count = (text: string): number => r.edgeLog.split(text).length - 1
  const severe = r.edgeLog.split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l))
  const command = ['npm run soak', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ')

  const lines = [
    '# edge soak',
    '',
    `Written by \`${command}\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${(r.soakMs / 60_000).toFixed(1)} min). ` +
    `An origin edge gets ${relative(root, r.media)} (${(r.bitrate / 1000).toFixed(0)} kbit/s, H.264 720p25 + AAC) from a flapping ffmpeg publisher ` +
    `(\`-re -stream_loop -1 -c copy\`, runs ${PUBLISHER_RUN_MIN_MS / 1000}-${PUBLISHER_RUN_MAX_MS / 1000} s, killed alternately with SIGTERM and SIGKILL, ` +
    `restarted after ${PUBLISHER_PAUSE_MS / 1000} s); the origin itself is stopped with SIGTERM every ${Number((originEveryMs / 60_000).toFixed(2))} min and restarted ` +
    `${ORIGIN_DOWN_MS / 1000} s later. The edge under test pulls \`live/s1\` from it (static \`pull\`, 1 s GOP cache) for ~${playerCount} players ` +
    `(${Math.round(flvShare * 100)} % HTTP-FLV, the rest RTMP) that each stay ${PLAYER_STAY_MIN_MS / 1000}-${PLAYER_STAY_MAX_MS / 1000} s and are replaced ` +
    `as they leave. The edge is sampled every ${SAMPLE_EVERY_MS / 1000} s; "start" is before the first player, "end" after the last one left.`,
    '',
    `**${verdict}**`,
    '',
    '| edge under test | start | end | min | max |',
    '|---|---|---|---|---|',
    `| RSS (MB) | ${mb(first.rssBytes)} | ${mb(end.rssBytes)} | ${mb(Math.min(...rss))} | ${mb(Math.max(...rss))} |`,
    `| open fds | ${first.fds} | ${end.fds} | ${Math.min(...fds)} | ${Math.max(...fds)} |`,
    '',
    '![edge RSS and open fds over time](soak.png)',
    '',
    '## What happened',
    '',
    `- Players: ${joined} joined (${c.joined.rtmp} RTMP, ${c.joined.flv} HTTP-FLV), ${c.left} left at the end of their stay, ` +
    `${c.dropped} were dropped by the server after media had arrived, ${c.failed} ended before any media; ` +
    `${median(population).toFixed(0)} connected (median of the samples, target ${playerCount}); ${(r.pool.bytes / MiB).toFixed(0)} MiB received in all.`,
    ...[...c.reasons].map(([why, n]) => `  - ${n}× ${why}`),
    `- Publisher: started ${times(r.events.publisherStarts)}; stopped ${times(r.events.publisherKills.SIGTERM)} with SIGTERM and ` +
    `${times(r.events.publisherKills.SIGKILL)} with SIGKILL; ${r.events.publisherEnded} run(s) ended on their own (origin gone or refusing).`,
    `- Origin: stopped ${times(r.events.originStops)}${r.events.originRestartFailures > 0 ? `, ${r.events.originRestartFailures} failed restart attempts` : ''}.`,
    `- Edge log (level info): pull legs publishing ${times(count('pull: publishing'))}, pull retries ${count('pull: retry in')}, ` +
    `lines by level: ${[...levels].map(([l, n]) => `${l} ${n}`).join(', ') || 'none'}.`,
    ...severe.slice(0, 5).map((l) => `  - \`${l.slice(0, 200)}\``),
    ...(r.edgeOut === '' ? [] : ['- The edge wrote to stdout/stderr:', '', '```', r.edgeOut.slice(0, 2000), '```']),
    `- CPU, median of the samples: edge ${fixed(median(during.map((s) => s.edgeCpu)), 2)} core, the players (this process) ` +
    `${fixed(median(during.map((s) => s.playersCpu)), 2)} core.`,
    '',
    `## Samples${during.length > MAX_TABLE_ROWS ? ` (one row in ${Math.ceil(during.length / MAX_TABLE_ROWS)})` : ''}`,
    '',
    '| t (min) | RSS (MB) | open fds | players | receiving media | edge CPU (core) | origin | publisher |',
    '|---|---|---|---|---|---|---|---|',
  ]
  const step = Math.ceil(during.length / MAX_TABLE_ROWS)
  const shown = r.samples.filter((s, i) => i % step === 0 || s === during[during.length - 1] || s.after === true)
  for (const s of shown) {
    lines.push(`| ${s.after === true ? `${(s.tMs / 60_000).toFixed(2)} (players gone)` : (s.tMs / 60_000).toFixed(2)} | ${mb(s.rssBytes)} | ${s.fds} | ` +
      `${s.players} | ${s.receiving} | ${fixed(s.edgeCpu, 2)} | ${s.originUp ? 'up' : 'down'} | ${s.publisherUp ? 'up' : 'down'} |`)
  }
  lines.push('')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'soak.md'), lines.join('\n'))
  writeFileSync(join(outDir, 'soak.png'), plot(r.samples))
  return { flat, verdict }
}

function plot(samples: Sample[]): Buffer {
  const at = (s: Sample): number => s.tMs / 60_000
  const marks = samples.length <= MAX_TABLE_ROWS
  const series = (label: string, y: (s: Sample) => number): Series => ({ label, marks, points: samples.map((s) => ({ x: at(s), y: y(s) })) })
  return renderPlot([
    { title: 'edge RSS', xLabel: 'minutes', yLabel: 'MB', series: [series('edge RSS', (s) => s.rssBytes / MiB)] },
    // players connected drawn last: where every player receives, its line covers that one
    { title: 'edge open fds and players', xLabel: 'minutes', yLabel: 'count', series: [
      series('edge open fds', (s) => s.fds),
      series('players receiving media', (s) => s.receiving),
      series('players connected', (s) => s.players),
    ] },
  ])
}

await main()
