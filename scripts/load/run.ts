// Load benchmark (issue 5, build 1): edge against Debian's nginx-rtmp and Node-Media-Server v4
// in the same run. For each step and each server × protocol a fresh server is started pinned to
// CPU 0 (`taskset -c 0`), one ffmpeg publisher loops the test media into it (`-re -stream_loop
// -1 -c copy`, pinned to CPU 1), and one player process (scripts/load/players.ts, pinned to
// CPU 1) opens N players at a fixed ramp rate, settles, and measures over a window. Reported per
// row: server CPU seconds per player-minute (/proc/<pid>/stat utime+stime), RSS per player
// ((VmRSS at the window's end − VmRSS with the publisher and 0 players) / N), delivery against
// the media's bitrate (every player ≥ 95 %), TTFF p50/p95, how far behind the newest timestamp
// the slowest 5 % are, the player process's own CPU (to check it was not the bottleneck), and
// the ratios edge/nginx-rtmp and edge/NMS for CPU and RSS per player (STYLE rule 10: ratios
// against baselines from the same run).
//
//   npm run bench:load -- [--steps 100,250,500] [--window 10] [--rate 500] [--settle 2] [--servers edge,nginx,nms]
//
// With two cores (server on 0, players and publisher on 1) the player process itself nears one
// core at about 1,000-1,500 players of this 370 kbit/s media; rows where it exceeds 0.8 core are
// flagged "player-bound" and their server figures are not a server limit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../test/helpers/node.js'
import type { PlayersReport } from './players.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const edgeBin = join(root, 'bin', 'edge.js')
const playersJs = join(root, 'dist', 'scripts', 'load', 'players.js')
const nmsBin = join(root, 'node_modules', 'node-media-server', 'bin', 'app.js')
const NGINX = '/usr/sbin/nginx'
const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'
const media = join(root, 'test', 'fixtures', 'media', 'testsrc-10s.flv')
const SERVER_CPU = '0'
const CLIENT_CPU = '1'
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100
/** the player process counts as the bottleneck above this fraction of its core */
const PLAYER_CPU_LIMIT = 0.8

// ---- options ------------------------------------------------------------------------------------

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i !== -1 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}
const steps = option('steps', '100,250,500').split(',').map(Number).filter((n) => n > 0)
const windowSeconds = Number(option('window', '10'))
const rampRate = Number(option('rate', '500'))
const settleSeconds = Number(option('settle', '2'))
const wanted = new Set(option('servers', 'edge,nginx,nms').split(','))

// ---- process bookkeeping: everything started is killed by PID -------------------------------------

const live = new Set<ChildProcess>()
const tempDirs = new Set<string>()

function track(child: ChildProcess): ChildProcess {
  live.add(child)
  child.on('exit', () => live.delete(child))
  child.on('error', () => live.delete(child))
  return child
}

function killAll(): void {
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try { process.kill(c.pid, 'SIGKILL') } catch { /* already gone */ }
    }
  }
  live.clear()
}

function cleanup(): void {
  killAll()
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
  tempDirs.clear()
}

process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => { cleanup(); process.exit(130) })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  process.kill(child.pid, 'SIGKILL')
  await exited
}

// ---- helpers --------------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during start-up`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.on('connect', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within 10 s`)
    await sleep(50)
  }
}

/** pid plus its direct children (none expected: every server runs as a single process) */
function pids(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    return [pid, ...kids]
  } catch {
    return [pid]
  }
}

/** utime + stime in seconds, over the process and its direct children */
function cpuSeconds(pid: number): number {
  let ticks = 0
  for (const p of pids(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(rest[11]) + Number(rest[12]) // fields 14, 15
    } catch { /* exited */ }
  }
  return ticks / CLK_TCK
}

/** VmRSS in bytes, over the process and its direct children */
function rssBytes(pid: number): number {
  let kb = 0
  for (const p of pids(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))
      if (m !== null) kb += Number(m[1])
    } catch { /* exited */ }
  }
  return kb * 1024
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]
}

function mediaBitrate(): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,size', '-of', 'json', media], { encoding: 'utf8' })
  const f = (JSON.parse(r.stdout) as { format: { duration: string, size: string } }).format
  return (Number(f.size) * 8) / Number(f.duration)
}

// ---- servers ----------------------------------------------------------------------------------------

interface Running {
  proc: ChildProcess
  rtmpPort: number
  httpPort: number
}

interface ServerDef {
  name: string
  key: string
  protocols: Array<'rtmp' | 'flv'>
  available(): string | false
  start(dir: string): Promise<Running>
  /** the path a player asks for */
  path(protocol: 'rtmp' | 'flv'): string
}

function logFd(dir: string, name: string): number {
  return openSync(join(dir, `${name}.log`), 'a')
}

function spawnPinned(cpu: string, cmd: string, args: string[], dir: string, name: string, cwd = dir): ChildProcess {
  const fd = logFd(dir, name)
  const child = track(spawn('taskset', ['-c', cpu, cmd, ...args], { cwd, stdio: ['ignore', fd, fd] }))
  closeSync(fd)
  return child
}

const servers: ServerDef[] = [
  {
    name: 'edge',
    key: 'edge',
    protocols: ['rtmp', 'flv'],
    available: () => false,
    async start(dir) {
      const [rtmpPort, httpPort] = [await freePort(), await freePort()]
      const conf = join(dir, 'edge.conf')
      writeFileSync(conf, `daemon off;\nerror_log stderr warn;\npid ${join(dir, 'edge.pid')};\nevents {}\n` +
        `rtmp { server { listen ${rtmpPort}; application live { live on; cache_time 1s; } } }\n` +
        `http { server { listen ${httpPort}; location /live { flv_live ${rtmpPort}; } } }\n`)
      const proc = spawnPinned(SERVER_CPU, process.execPath, [edgeBin, '-c', conf], dir, 'edge')
      await waitForPort(rtmpPort, proc, 'edge')
      await waitForPort(httpPort, proc, 'edge')
      return { proc, rtmpPort, httpPort }
    },
    path: () => 'live/s1',
  },
  {
    name: 'nginx-rtmp',
    key: 'nginx',
    protocols: ['rtmp'],
    available: () => {
      const absent = [NGINX, NGINX_RTMP_MODULE].filter((p) => !existsSync(p))
      return absent.length === 0 ? false : `not installed: ${absent.join(', ')}`
    },
    async start(dir) {
      const rtmpPort = await freePort()
      writeFileSync(join(dir, 'nginx.conf'), [
        `pid ${join(dir, 'nginx.pid')};`,
        `load_module ${NGINX_RTMP_MODULE};`,
        `error_log ${join(dir, 'nginx-error.log')} warn;`,
        'worker_rlimit_nofile 20000;',
        'events { worker_connections 16000; }',
        `rtmp { server { listen 127.0.0.1:${rtmpPort}; application live { live on; } } }`,
        '',
      ].join('\n'))
      const proc = spawnPinned(SERVER_CPU, NGINX,
        ['-p', dir, '-e', join(dir, 'nginx-error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; master_process off;'], dir, 'nginx')
      await waitForPort(rtmpPort, proc, 'nginx-rtmp')
      return { proc, rtmpPort, httpPort: 0 }
    },
    path: () => 'live/s1',
  },
  {
    name: 'NMS',
    key: 'nms',
    protocols: ['rtmp', 'flv'],
    available: () => (existsSync(nmsBin) ? false : 'node-media-server not installed (npm install --save-dev node-media-server@4)'),
    async start(dir) {
      const [rtmpPort, httpPort] = [await freePort(), await freePort()]
      const cfg = join(dir, 'nms.json')
      writeFileSync(cfg, JSON.stringify({
        bind: '127.0.0.1',
        notify: { url: '' },
        store: { path: join(dir, 'nms-data'), maxHistory: 100 },
        auth: { play: false, publish: false, secret: '' },
        rtmp: { port: rtmpPort },
        http: { port: httpPort },
        webadmin: { enable: false },
        record: { auto: false, path: join(dir, 'nms-record') },
      }))
      const proc = spawnPinned(SERVER_CPU, process.execPath, [nmsBin, '-c', cfg, '--no-admin'], dir, 'nms')
      await waitForPort(rtmpPort, proc, 'NMS')
      await waitForPort(httpPort, proc, 'NMS')
      return { proc, rtmpPort, httpPort }
    },
    path: (p) => (p === 'flv' ? 'live/s1.flv' : 'live/s1'),
  },
]

// ---- one measurement --------------------------------------------------------------------------------

interface Row {
  server: string
  key: string
  protocol: 'rtmp' | 'flv'
  players: number
  connected: number
  cpuPerPlayerMinute: number
  serverCpu: number
  rssPerPlayer: number
  okFraction: number
  minDelivery: number
  ttffP50: number
  ttffP95: number
  lagP95: number
  playerCpu: number
  error?: string
}

interface PlayersRun {
  report: PlayersReport
  cpu: number
  rss: number
}

/** Runs a player process pinned to the client CPU; samples the server across its window. */
async function runPlayers(serverPid: number, protocol: string, port: number, path: string, n: number,
  window: number, settle: number): Promise<PlayersRun> {
  const child = track(spawn('taskset', ['-c', CLIENT_CPU, process.execPath, playersJs, protocol, '127.0.0.1', String(port), path,
    String(n), String(rampRate), String(window), String(settle)], { stdio: ['ignore', 'pipe', 'pipe'] }))
  let cpu0 = 0
  let started = false
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    if (!started && stderr.includes('MEASURE_START')) {
      started = true
      cpu0 = cpuSeconds(serverPid)
    }
  })
  const lines = createInterface({ input: child.stdout! })
  const timeout = setTimeout(() => { void stop(child) }, (n / rampRate + settle + window + 60) * 1000)
  try {
    for await (const line of lines) {
      if (!line.startsWith('{')) continue
      const cpu = cpuSeconds(serverPid) - cpu0
      const rss = rssBytes(serverPid)
      if (!started) throw new Error('player process reported without MEASURE_START')
      return { report: JSON.parse(line) as PlayersReport, cpu, rss }
    }
    throw new Error(`player process ended without a report: ${stderr.trim().slice(-500)}`)
  } finally {
    clearTimeout(timeout)
    await stop(child)
  }
}

async function measure(def: ServerDef, protocol: 'rtmp' | 'flv', n: number, bitrate: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), `edge-load-${def.key}-`))
  tempDirs.add(dir)
  const row: Row = {
    server: def.name, key: def.key, protocol, players: n, connected: 0, cpuPerPlayerMinute: NaN, serverCpu: NaN,
    rssPerPlayer: NaN, okFraction: NaN, minDelivery: NaN, ttffP50: NaN, ttffP95: NaN, lagP95: NaN, playerCpu: NaN,
  }
  let server: Running | null = null
  let ffmpeg: ChildProcess | null = null
  try {
    server = await def.start(dir)
    const pid = server.proc.pid!
    ffmpeg = spawnPinned(CLIENT_CPU, 'ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', media,
      '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${server.rtmpPort}/live/s1`], dir, 'ffmpeg')
    const port = protocol === 'rtmp' ? server.rtmpPort : server.httpPort
    // warm-up: one player must see a keyframe (the stream is published and the GOP cache filled)
    let warm = false
    for (let i = 0; i < 5 && !warm; i++) {
      const w = await runPlayers(pid, protocol, port, def.path(protocol), 1, 1, 1.5)
      warm = w.report.players[0]?.ttff >= 0
    }
    if (!warm) throw new Error('no keyframe reached a single warm-up player')
    // RSS with the publisher and 0 players: the lowest of 10 samples over a second (after GC)
    let rss0 = Infinity
    for (let i = 0; i < 10; i++) {
      await sleep(100)
      rss0 = Math.min(rss0, rssBytes(pid))
    }
    const r = await runPlayers(pid, protocol, port, def.path(protocol), n, windowSeconds, settleSeconds)
    const ps = r.report.players
    const w = r.report.windowSeconds
    const delivery = ps.map((p) => (p.bytes * 8) / w / bitrate)
    const newest = Math.max(...ps.map((p) => p.lastTs))
    row.connected = r.report.connected
    row.serverCpu = r.cpu / w
    row.cpuPerPlayerMinute = r.cpu / n / (w / 60)
    row.rssPerPlayer = (r.rss - rss0) / n
    row.okFraction = delivery.filter((d) => d >= 0.95).length / n
    row.minDelivery = Math.min(...delivery)
    const ttff = ps.map((p) => (p.ttff < 0 ? Infinity : p.ttff))
    row.ttffP50 = percentile(ttff, 0.5)
    row.ttffP95 = percentile(ttff, 0.95)
    row.lagP95 = percentile(ps.map((p) => (p.lastTs < 0 ? Infinity : newest - p.lastTs)), 0.95)
    row.playerCpu = r.report.selfCpu
    const errors = ps.filter((p) => p.error !== '').map((p) => p.error)
    if (errors.length > 0) row.error = `${errors.length} player errors, e.g. ${errors[0]}`
  } catch (err) {
    row.error = (err as Error).message
  } finally {
    if (ffmpeg !== null) await stop(ffmpeg)
    if (server !== null) await stop(server.proc)
    rmSync(dir, { recursive: true, force: true })
    tempDirs.delete(dir)
  }
  return row
}

// ---- report -------------------------------------------------------------------------------------------

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : x === Infinity ? '∞' : '—')

function ratio(a: Row | undefined, b: Row | undefined, k: 'cpuPerPlayerMinute' | 'rssPerPlayer'): string {
  if (a === undefined || b === undefined || a.error !== undefined || b.error !== undefined) return '—'
  return `${fmt(a[k] / b[k])}×`
}

function table(n: number, rows: Row[]): string {
  const out = [
    `### ${n} players (window ${windowSeconds} s, ramp ${rampRate}/s, server on CPU ${SERVER_CPU}, players on CPU ${CLIENT_CPU})`,
    '',
    '| server | proto | connected | server CPU (core) | CPU s / player-min | RSS / player (KB) | players ≥ 95 % | min delivery | TTFF p50 / p95 (ms) | slowest 5 % behind (ms) | player proc CPU | CPU ratio edge/this | RSS ratio edge/this |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    const edgeRow = rows.find((e) => e.key === 'edge' && e.protocol === r.protocol)
    const playerNote = r.playerCpu > PLAYER_CPU_LIMIT ? ' ⚠ player-bound' : ''
    out.push(`| ${r.server} | ${r.protocol === 'flv' ? 'HTTP-FLV' : 'RTMP'} | ${r.connected}/${r.players} | ${fmt(r.serverCpu)} | ${fmt(r.cpuPerPlayerMinute, 4)} | ` +
      `${fmt(r.rssPerPlayer / 1024, 1)} | ${fmt(r.okFraction * 100, 1)} % | ${fmt(r.minDelivery * 100, 1)} % | ${fmt(r.ttffP50, 0)} / ${fmt(r.ttffP95, 0)} | ` +
      `${fmt(r.lagP95, 0)} | ${fmt(r.playerCpu)}${playerNote} | ${r.key === 'edge' ? '1.00× (baseline)' : ratio(edgeRow, r, 'cpuPerPlayerMinute')} | ` +
      `${r.key === 'edge' ? '1.00× (baseline)' : ratio(edgeRow, r, 'rssPerPlayer')} |`)
  }
  const errs = rows.filter((r) => r.error !== undefined)
  if (errs.length > 0) {
    out.push('')
    for (const r of errs) out.push(`- ${r.server} ${r.protocol}: ${r.error}`)
  }
  out.push('')
  return out.join('\n')
}

async function main(): Promise<void> {
  if (!existsSync(playersJs)) throw new Error(`${playersJs} missing: run npm run build first`)
  const bitrate = mediaBitrate()
  const active: ServerDef[] = []
  const notes: string[] = []
  for (const s of servers) {
    if (!wanted.has(s.key)) continue
    const why = s.available()
    if (why === false) active.push(s)
    else notes.push(`- ${s.name} skipped: ${why}`)
  }
  const header = [
    '# edge load benchmark',
    '',
    `Media: ${media.slice(root.length + 1)} at ${(bitrate / 1000).toFixed(0)} kbit/s (file size × 8 / duration), one ffmpeg publisher per server ` +
    '(`-re -stream_loop -1 -c copy`). A fresh server per row. Ratios are edge/this server in the same run, same protocol; ' +
    `< 1 means edge uses less. "player proc CPU" > ${PLAYER_CPU_LIMIT} would mean the player process, not the server, was the bottleneck.`,
    '',
    ...notes,
    '',
  ].join('\n')
  console.log(header)
  let doc = header + '\n'
  for (const n of steps) {
    const rows: Row[] = []
    for (const s of active) {
      for (const p of s.protocols) {
        process.stderr.write(`[bench:load] ${n} players: ${s.name} ${p}…\n`)
        rows.push(await measure(s, p, n, bitrate))
      }
    }
    const t = table(n, rows)
    console.log(t)
    doc += t + '\n'
  }
  writeFileSync(join(root, 'scripts', 'load', 'last-run.md'), doc)
}

try {
  await main()
} finally {
  cleanup()
}
