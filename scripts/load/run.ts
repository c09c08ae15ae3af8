// Load benchmark (issue 5): edge against Debian's nginx-rtmp and Node-Media-Server v4 in the
// same run, and edge serving a stream it pulls from an origin. For each step and each server ×
// protocol a fresh server is started pinned to CPU 0 (`taskset -c 0`), one ffmpeg publisher
// loops a pre-encoded 2 Mbit/s H.264/AAC file into it (`-re -stream_loop -1 -c copy`, on CPU 1),
// and the player process (scripts/load/player.c, on CPU 1) opens N players at a fixed ramp rate,
// settles, and measures over a window. Reported per row, as the median of `--repeat` runs:
// server CPU seconds per player-minute (/proc/<pid>/stat utime+stime over the window), RSS per
// player ((VmRSS at the window's end − VmRSS with the publisher and 0 players) / N), delivery
// against the media's bitrate (every player ≥ 95 %), TTFF p50/p95, how far behind the newest
// timestamp the slowest 5 % are, the player process's own CPU (it must not be the bottleneck),
// and the ratios edge/nginx-rtmp and edge/NMS (STYLE rule 10: ratios against baselines from the
// same run). A step is held when every player connected, every player got ≥ 95 % and the player
// process stayed under 0.8 core; a server × protocol that fails a step is not run at larger ones.
// Writes docs/bench/load.md (the tables) and docs/bench/load.png (the plot the README shows).
//
//   npm run bench:load -- [--steps 250,500,1000,2000,3000] [--repeat 3] [--window 10] [--rate 500]
//                         [--settle 4] [--kbps 2000] [--servers edge,edge-pull,nginx,nms] [--out docs/bench]
//                         [--merge-time <ms>: edge's merge_time, default its own 40]
//
// `--case relay` runs the push relay case instead (scripts/load/relay.ts: edge CPU with N push
// targets against no push, same run; writes relay.md):
//
//   npm run bench:load -- --case relay [--pushes 1,4,8] [--repeat 3] [--window 20] [--settle 4]
//                         [--target edge|nginx] [--kbps 2000] [--out docs/bench] [--merge-time <ms>]

import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { freePort } from '../../test/helpers/node.js'
import { cleanup, CLIENT_CPU, makeTempDir, median, removeTempDir, SERVER_CPU, sleep, spawnPinned, spawnPublisher, stop } from './children.js'
import { ensureMedia, mediaBitrate, root } from './media.js'
import { ensurePlayer, runPlayers, type PlayersRun } from './players.js'
import { renderPlot, type Series } from './plot.js'
import { rssBytes, waitForPort } from './proc.js'
import { runRelay } from './relay.js'
import { nginxMissing, startEdge as startEdgeIn, startNginx } from './servers.js'

const nmsBin = join(root, 'node_modules', 'node-media-server', 'bin', 'app.js')
/** the player process counts as the bottleneck above this fraction of its core */
const PLAYER_CPU_LIMIT = 0.8

// ---- options ------------------------------------------------------------------------------------

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i !== -1 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}
const steps = option('steps', '250,500,1000,2000,3000').split(',').map(Number).filter((n) => n > 0)
const repeat = Math.max(1, Number(option('repeat', '3')))
const windowSeconds = Number(option('window', '10'))
const rampRate = Number(option('rate', '500'))
/** two GOPs of the media: a server without a GOP cache starts each player at the next keyframe */
const settleSeconds = Number(option('settle', '4'))
const wanted = new Set(option('servers', 'edge,edge-pull,nginx,nms').split(','))
const mediaKbps = Number(option('kbps', '2000'))
const outDir = resolve(option('out', join(root, 'docs', 'bench')))
/** edge's merge_time for this run (its default, 40 ms, when not given) */
const mergeTime = option('merge-time', '')
/** players (the tables above) or relay (scripts/load/relay.ts) */
const loadCase = option('case', 'players')
/** this run's command line, for the reports */
const command = ['npm run bench:load', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ')

// ---- helpers --------------------------------------------------------------------------------------

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]
}

// ---- servers ----------------------------------------------------------------------------------------

interface Running {
  /** the server under test: its CPU and RSS are measured */
  proc: ChildProcess
  rtmpPort: number
  httpPort: number
  /** where ffmpeg publishes (the server itself, or the origin of a pulled stream) */
  publishUrl: string
  /** other processes of this row (an origin), stopped with it */
  others: ChildProcess[]
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

/** edge as shipped for an edge node: a 1 s GOP cache, HTTP-FLV on /live, optionally a static pull */
function startEdge(dir: string, pull: string): ReturnType<typeof startEdgeIn> {
  return startEdgeIn(dir, SERVER_CPU, `cache_time 1s;${mergeTime === '' ? '' : ` merge_time ${mergeTime}ms;`}${pull === '' ? '' : ` pull ${pull};`}`)
}

const servers: ServerDef[] = [
  {
    name: 'edge',
    key: 'edge',
    protocols: ['rtmp', 'flv'],
    available: () => false,
    async start(dir) {
      const e = await startEdge(dir, '')
      return { ...e, publishUrl: `rtmp://127.0.0.1:${e.rtmpPort}/live/s1`, others: [] }
    },
    path: () => 'live/s1',
  },
  {
    // the stream is published to an nginx-rtmp origin on the players' CPU; edge pulls it once
    name: 'edge (pulled)',
    key: 'edge-pull',
    protocols: ['rtmp', 'flv'],
    available: nginxMissing,
    async start(dir) {
      const origin = await startNginx(dir, CLIENT_CPU)
      const e = await startEdge(dir, `rtmp://127.0.0.1:${origin.rtmpPort}`)
      return { ...e, publishUrl: `rtmp://127.0.0.1:${origin.rtmpPort}/live/s1`, others: [origin.proc] }
    },
    path: () => 'live/s1',
  },
  {
    name: 'nginx-rtmp',
    key: 'nginx',
    protocols: ['rtmp'],
    available: nginxMissing,
    async start(dir) {
      const n = await startNginx(dir, SERVER_CPU)
      return { proc: n.proc, rtmpPort: n.rtmpPort, httpPort: 0, publishUrl: `rtmp://127.0.0.1:${n.rtmpPort}/live/s1`, others: [] }
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
      return { proc, rtmpPort, httpPort, publishUrl: `rtmp://127.0.0.1:${rtmpPort}/live/s1`, others: [] }
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

interface Media {
  file: string
  /** bits per second: file size × 8 / duration */
  bitrate: number
}

async function measure(player: string, def: ServerDef, protocol: 'rtmp' | 'flv', n: number, media: Media): Promise<Row> {
  const dir = makeTempDir(`edge-load-${def.key}-`)
  const row: Row = {
    server: def.name, key: def.key, protocol, players: n, connected: 0, cpuPerPlayerMinute: NaN, serverCpu: NaN,
    rssPerPlayer: NaN, okFraction: NaN, minDelivery: NaN, ttffP50: NaN, ttffP95: NaN, lagP95: NaN, playerCpu: NaN,
  }
  let server: Running | null = null
  let ffmpeg: ChildProcess | null = null
  try {
    server = await def.start(dir)
    const pid = server.proc.pid!
    ffmpeg = spawnPublisher(media.file, server.publishUrl, dir)
    const port = protocol === 'rtmp' ? server.rtmpPort : server.httpPort
    // warm-up: one player must see a keyframe (the stream is published and the GOP cache filled)
    let warm = false
    for (let i = 0; i < 5 && !warm; i++) {
      const w = await runPlayers(player, pid, { protocol, port, path: def.path(protocol), count: 1, rate: rampRate, windowSeconds: 1, settleSeconds: 1.5 })
      warm = w.report.players[0]?.ttff >= 0
    }
    if (!warm) throw new Error('no keyframe reached a single warm-up player')
    // RSS with the publisher and 0 players: the lowest of 10 samples over a second (after GC)
    let rss0 = Infinity
    for (let i = 0; i < 10; i++) {
      await sleep(100)
      rss0 = Math.min(rss0, rssBytes(pid))
    }
    const r: PlayersRun = await runPlayers(player, pid, { protocol, port, path: def.path(protocol), count: n, rate: rampRate, windowSeconds, settleSeconds })
    const ps = r.report.players
    const w = r.report.windowSeconds
    const delivery = ps.map((p) => (p.bytes * 8) / w / media.bitrate)
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
    if (server !== null) {
      await stop(server.proc)
      for (const o of server.others) await stop(o)
    }
    removeTempDir(dir)
  }
  return row
}

/** Every player connected and got ≥ 95 %, and the player process was not the bottleneck. */
function held(r: Row): boolean {
  return r.error === undefined && r.connected === r.players && r.okFraction === 1 && r.playerCpu <= PLAYER_CPU_LIMIT
}

/** The median of each figure over the repeats; held when most repeats held. */
function combine(runs: Row[]): Row & { heldRuns: number } {
  const m = (k: keyof Row): number => median(runs.map((r) => r[k] as number))
  const heldRuns = runs.filter(held).length
  const errors = runs.filter((r) => r.error !== undefined).map((r) => r.error)
  return {
    ...runs[0],
    connected: Math.min(...runs.map((r) => r.connected)),
    cpuPerPlayerMinute: m('cpuPerPlayerMinute'),
    serverCpu: m('serverCpu'),
    rssPerPlayer: m('rssPerPlayer'),
    okFraction: m('okFraction'),
    minDelivery: Math.min(...runs.map((r) => r.minDelivery)),
    ttffP50: m('ttffP50'),
    ttffP95: m('ttffP95'),
    lagP95: m('lagP95'),
    playerCpu: Math.max(...runs.map((r) => r.playerCpu)),
    heldRuns,
    error: heldRuns * 2 > runs.length ? undefined : errors[0] ?? `held in ${heldRuns} of ${runs.length} runs`,
  }
}

// ---- report -------------------------------------------------------------------------------------------

type Combined = ReturnType<typeof combine>

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : x === Infinity ? '∞' : '—')
const protoName = (p: 'rtmp' | 'flv'): string => (p === 'flv' ? 'HTTP-FLV' : 'RTMP')

function ratio(a: Row | undefined, b: Row | undefined, k: 'cpuPerPlayerMinute' | 'rssPerPlayer'): string {
  if (a === undefined || b === undefined || !Number.isFinite(a[k]) || !Number.isFinite(b[k])) return '—'
  return `${fmt(a[k] / b[k])}×`
}

function table(n: number, rows: Combined[]): string {
  const out = [
    `### ${n} players`,
    '',
    '| server | proto | held | connected | server CPU (core) | CPU s / player-min | RSS / player (KB) | players ≥ 95 % | min delivery | TTFF p50 / p95 (ms) | slowest 5 % behind (ms) | player proc CPU | CPU edge/this | RSS edge/this |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    const edgeRow = rows.find((e) => e.key === 'edge' && e.protocol === r.protocol)
    const base = r.key === 'edge'
    out.push(`| ${r.server} | ${protoName(r.protocol)} | ${r.error === undefined ? 'yes' : '**no**'} (${r.heldRuns}/${repeat}) | ${r.connected}/${r.players} | ` +
      `${fmt(r.serverCpu)} | ${fmt(r.cpuPerPlayerMinute, 4)} | ${fmt(r.rssPerPlayer / 1024, 1)} | ${fmt(r.okFraction * 100, 1)} % | ` +
      `${fmt(r.minDelivery * 100, 1)} % | ${fmt(r.ttffP50, 0)} / ${fmt(r.ttffP95, 0)} | ${fmt(r.lagP95, 0)} | ` +
      `${fmt(r.playerCpu)}${r.playerCpu > PLAYER_CPU_LIMIT ? ' ⚠' : ''} | ${base ? 'baseline' : ratio(edgeRow, r, 'cpuPerPlayerMinute')} | ` +
      `${base ? 'baseline' : ratio(edgeRow, r, 'rssPerPlayer')} |`)
  }
  const errs = rows.filter((r) => r.error !== undefined)
  if (errs.length > 0) {
    out.push('')
    for (const r of errs) out.push(`- ${r.server} ${protoName(r.protocol)}: ${r.error}`)
  }
  out.push('')
  return out.join('\n')
}

/** Largest step held per server × protocol, and the issue's goals checked against this run. */
function summary(all: Combined[], active: Array<{ def: ServerDef, protocol: 'rtmp' | 'flv' }>): string {
  const largest = (key: string, p: 'rtmp' | 'flv'): number =>
    Math.max(0, ...all.filter((r) => r.key === key && r.protocol === p && r.error === undefined).map((r) => r.players))
  const out = ['## Largest step held', '', '| server | proto | largest step held |', '|---|---|---|']
  for (const { def, protocol } of active) out.push(`| ${def.name} | ${protoName(protocol)} | ${largest(def.key, protocol) || 'none'} |`)
  out.push('', '## Goals (issue 5), at 2,000 players', '')
  const at = (key: string, p: 'rtmp' | 'flv', n: number): Combined | undefined => all.find((r) => r.key === key && r.protocol === p && r.players === n)
  for (const p of ['rtmp', 'flv'] as const) {
    const e = at('edge', p, 2000)
    const ng = at('nginx', 'rtmp', 2000)
    if (e === undefined) { out.push(`- ${protoName(p)}: no 2,000-player row in this run`); continue }
    const mark = (ok: boolean): string => (ok ? '✓' : '✗')
    out.push(`- ${protoName(p)}: every player ≥ 95 % ${mark(e.error === undefined)}; ` +
      `CPU/player edge/nginx-rtmp ${ng === undefined ? '—' : `${fmt(e.cpuPerPlayerMinute / ng.cpuPerPlayerMinute)}× ${mark(e.cpuPerPlayerMinute <= ng.cpuPerPlayerMinute)}`} (goal ≤ 1.0); ` +
      `RSS/player ${fmt(e.rssPerPlayer / 1024, 1)} KB ${mark(e.rssPerPlayer <= 40 * 1024)} (goal ≤ 40); ` +
      `TTFF p95 ${fmt(e.ttffP95, 0)} ms ${mark(e.ttffP95 <= 50)} (goal ≤ 50)`)
    const le = largest('edge', p)
    const ln = largest('nginx', 'rtmp')
    const lm = largest('nms', p)
    out.push(`- ${protoName(p)} largest step: edge ${le}, nginx-rtmp (RTMP) ${ln} ${mark(le >= ln)}, NMS ${lm} ${mark(le >= 1.5 * lm)} (goal ≥ nginx-rtmp and ≥ 1.5× NMS)`)
  }
  out.push('')
  return out.join('\n')
}

function plot(all: Combined[], active: Array<{ def: ServerDef, protocol: 'rtmp' | 'flv' }>): Buffer {
  const series = (k: 'serverCpu' | 'ttffP95'): Series[] => active.map(({ def, protocol }) => ({
    label: `${def.name} ${protoName(protocol)}`,
    points: all.filter((r) => r.key === def.key && r.protocol === protocol).sort((a, b) => a.players - b.players)
      .map((r) => ({ x: r.players, y: r[k] })),
  }))
  return renderPlot([
    { title: 'Server CPU', xLabel: 'players', yLabel: 'cores (one pinned)', series: series('serverCpu') },
    { title: 'TTFF p95', xLabel: 'players', yLabel: 'ms (log)', series: series('ttffP95'), yLog: true },
  ])
}

async function main(): Promise<void> {
  const player = ensurePlayer()
  const file = ensureMedia(mediaKbps)
  const media: Media = { file, bitrate: mediaBitrate(file) }
  const active: Array<{ def: ServerDef, protocol: 'rtmp' | 'flv' }> = []
  const notes: string[] = []
  for (const s of servers) {
    if (!wanted.has(s.key)) continue
    const why = s.available()
    if (why === false) for (const protocol of s.protocols) active.push({ def: s, protocol })
    else notes.push(`- ${s.name} skipped: ${why}`)
  }
  const header = [
    '# edge load benchmark',
    '',
    `Written by \`${command}\`. Media: ${relative(root, media.file)} at ${(media.bitrate / 1000).toFixed(0)} kbit/s ` +
    '(H.264 High 720p25, 2 s GOP, AAC 128 kbit/s; file size × 8 / duration), one ffmpeg publisher per server (`-re -stream_loop -1 -c copy`). ' +
    `A fresh server per run, pinned to CPU ${SERVER_CPU}; the players and the publisher on CPU ${CLIENT_CPU}. Window ${windowSeconds} s after a ramp of ` +
    `${rampRate} players/s and ${settleSeconds} s to settle; each figure is the median of ${repeat} run(s). edge runs as shipped for an edge ` +
    '(1 s GOP cache), nginx-rtmp and NMS with their defaults. "edge (pulled)" pulls the stream from an nginx-rtmp origin on the players\' CPU. ' +
    'Ratios are edge/this server, same protocol, same run; < 1 means edge uses less. A step is held when every player connected and got ≥ 95 % ' +
    `of the bitrate, and the player process stayed under ${PLAYER_CPU_LIMIT} core (⚠ marks where it did not).`,
    '',
    ...notes,
    '',
  ].join('\n')
  console.log(header)
  const sections: string[] = []
  const all: Combined[] = []
  const failedAt = new Map<string, number>()
  for (const n of steps) {
    const rows: Combined[] = []
    for (const { def, protocol } of active) {
      const id = `${def.key}/${protocol}`
      if (failedAt.has(id)) continue
      const runs: Row[] = []
      for (let i = 0; i < repeat; i++) {
        process.stderr.write(`[bench:load] ${n} players: ${def.name} ${protoName(protocol)} run ${i + 1}/${repeat}…\n`)
        runs.push(await measure(player, def, protocol, n, media))
      }
      const c = combine(runs)
      if (c.error !== undefined) failedAt.set(id, n)
      rows.push(c)
      all.push(c)
    }
    if (rows.length === 0) break
    const t = table(n, rows)
    console.log(t)
    sections.push(t)
  }
  const sum = summary(all, active)
  console.log(sum)
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'load.md'), [header, sum, '![players vs server CPU and TTFF p95](load.png)', '', ...sections].join('\n'))
  writeFileSync(join(outDir, 'load.png'), plot(all, active))
  process.stderr.write(`[bench:load] wrote ${relative(root, join(outDir, 'load.md'))} and load.png\n`)
}

try {
  if (loadCase === 'players') await main()
  else if (loadCase === 'relay') {
    const target = option('target', 'edge')
    if (target !== 'edge' && target !== 'nginx') throw new Error(`--target ${target}: expected edge or nginx`)
    await runRelay({
      pushes: option('pushes', '1,4,8').split(',').map(Number).filter((n) => n > 0),
      repeat, windowSeconds: Number(option('window', '20')), settleSeconds, target, kbps: mediaKbps, outDir, mergeTime, command,
    })
  } else throw new Error(`--case ${loadCase}: expected players or relay`)
} finally {
  cleanup()
}
