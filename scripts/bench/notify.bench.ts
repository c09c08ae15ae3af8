// The cost of on_play (issue 10), measured end to end with real processes on 127.0.0.1. One
// edge serves three applications: `plain` (no on_play, the baseline), `gated` (on_play answered
// at once with an empty 200) and `hung` (on_play never answered, timeout=30s). The business
// server is scripts/bench/notify-server.ts in a child process, so its CPU is neither the
// bench's nor the edge's. There is no publisher: with idle_streams on a player gets
// NetStream.Play.Start without one, so the edge does nothing but the play path (ffmpeg's media
// would add per-player delivery work, and a GOP burst to every new player, to both sides).
// The edge runs pinned to CPU 0, the players and the business server to CPU 1.
//
//   (1) latency: TCP connect → onStatus NetStream.Play.Start of one RTMP player (handshake,
//       connect, createStream, play, each awaited as ffmpeg does), plain and gated alternating
//       in one run; the edge is back to its idle descriptors between trials;
//   (2) throughput: 1,000 players arriving at once (every one must get Play.Start), on gated
//       and on plain alternating; edge CPU seconds (/proc utime+stime) per play, callouts per
//       edge CPU second;
//   (3) memory per pending callout: RSS growth with 1,000 players whose on_play is held
//       unanswered against 1,000 idle players that got Play.Start on plain (and 1,000 that only
//       connected), each case in a fresh edge: RSS does not shrink after a case, so cases never
//       share an edge, and no GC can be forced in it; then the notify client's own share, 1,000
//       NotifyClient.get held open in this process, JS heap and external after gc(). Players
//       that leave must end their held callouts (the business server sees them all closed).
import { fork, spawnSync, type ChildProcess } from 'node:child_process'
import { once, setMaxListeners } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HostResolver } from '../../lib/core/resolve.js'
import { NodeMetrics } from '../../lib/core/node-metrics.js'
import { NotifyClient } from '../../lib/notify/client.js'
import { MSG_COMMAND_AMF0 } from '../../lib/rtmp/constants.js'
import { freePort, startEdge, type EdgeProcess } from '../../test/helpers/node.js'
import { RtmpTestClient, type Received } from '../../test/helpers/rtmp-client.js'
import { cpuSeconds, rssBytes } from '../load/proc.js'
import type { NotifyCounts } from './notify-server.js'

const here = dirname(fileURLToPath(import.meta.url))

const LATENCY_WARM_UP = 20
const LATENCY_TRIALS = 200
const PLAYERS = 1000
const ROUNDS = 3
const HELD = 1000
const MEMORY_REPS = 5
/** warm-up players of a fresh edge before its baseline RSS is read */
const MEMORY_WARM_UP = 50
/** a player that has no answer by then counts as failed */
const PLAYER_WAIT_MS = 20_000
/** bound on the edge going back to its idle descriptors, and on the business server's counts */
const QUIESCE_WAIT_MS = 10_000
/** pause before reading CPU or RSS, so that work still queued in the edge is counted */
const SETTLE_MS = 500
const EDGE_CPU = '0'
const CLIENT_CPU = '1'
const KiB = 1024
const MiB = 1024 * KiB

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]
}
const median = (xs: readonly number[]): number => percentile(xs, 0.5)

/** Pin every thread of `pid` to `cpu` (a no-op on a one-core machine). */
function pin(pid: number, cpu: string): void {
  if (availableParallelism() < 2) return
  const r = spawnSync('taskset', ['-a', '-pc', cpu, String(pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`taskset -a -pc ${cpu} ${pid}: ${r.stderr || r.error?.message}`)
}

/**
 * TcpExt ListenOverflows of the network namespace (/proc/net/netstat): connections the kernel
 * dropped because a listen queue was full; the client retransmits its SYN 1 s later.
 */
function listenOverflows(): number {
  const [names, values] = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'))
  return Number(values.split(' ')[names.split(' ').indexOf('ListenOverflows')])
}

// ---- the business server ------------------------------------------------------------------------

interface NotifyServer {
  readonly child: ChildProcess
  readonly port: number
  counts(): Promise<NotifyCounts>
  stop(): Promise<void>
}

async function startNotifyServer(): Promise<NotifyServer> {
  const child = fork(join(here, 'notify-server.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [ready] = await once(child, 'message', { signal: AbortSignal.timeout(QUIESCE_WAIT_MS) }) as [{ port: number }]
  const exited = once(child, 'exit')
  return {
    child,
    port: ready.port,
    // one request at a time: the bench never asks twice concurrently
    async counts() {
      child.send('count')
      const [m] = await once(child, 'message', { signal: AbortSignal.timeout(QUIESCE_WAIT_MS) }) as [NotifyCounts]
      return m
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    },
  }
}

/** Poll the business server until `cond` holds; rejects after QUIESCE_WAIT_MS with the last counts. */
async function untilCounts(notify: NotifyServer, cond: (c: NotifyCounts) => boolean, what: string): Promise<NotifyCounts> {
  const deadline = Date.now() + QUIESCE_WAIT_MS
  for (;;) {
    const c = await notify.counts()
    if (cond(c)) return c
    if (Date.now() > deadline) throw new Error(`${what}: business server counts ${JSON.stringify(c)}`)
    await sleep(20)
  }
}

// ---- the edge -----------------------------------------------------------------------------------

interface Edge {
  readonly proc: EdgeProcess
  readonly pid: number
  readonly rtmpPort: number
  /** open descriptors when no client is connected */
  readonly idleFds: number
}

async function startBenchEdge(notifyPort: number): Promise<Edge> {
  const rtmpPort = await freePort()
  const proc = await startEdge(`events { worker_connections 16000; }
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        idle_streams on;
        application plain { live on; }
        application gated { live on; on_play http://127.0.0.1:${notifyPort}/p; }
        application hung { live on; on_play http://127.0.0.1:${notifyPort}/hang timeout=30s; }
    }
}
`, { level: 'notice' })
  const pid = proc.child.pid as number
  pin(pid, EDGE_CPU)
  return { proc, pid, rtmpPort, idleFds: fds(pid) }
}

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** Wait until every session and callout the edge had is closed (its idle descriptor count). */
async function quiesce(edge: Edge): Promise<void> {
  const deadline = Date.now() + QUIESCE_WAIT_MS
  while (fds(edge.pid) > edge.idleFds) {
    if (Date.now() > deadline) throw new Error(`edge still has ${fds(edge.pid)} descriptors (idle: ${edge.idleFds})`)
    await sleep(1)
  }
}

function failWithLog(edge: Edge, message: string): never {
  const log = edge.proc.log()
  const alive = edge.proc.child.exitCode === null && edge.proc.child.signalCode === null
  throw new Error(`${message}\nedge ${alive ? 'still running' : `EXITED (code ${edge.proc.child.exitCode}, signal ${edge.proc.child.signalCode})`}; ` +
    `its log (last 8 KB):\n${log.slice(-8192)}`)
}

// ---- players ------------------------------------------------------------------------------------

/** The first onStatus/_result/_error from message index `from`; fails after PLAYER_WAIT_MS. */
function reply(c: RtmpTestClient, from: number, pred: (m: Received) => boolean): Promise<Received> {
  return c.next((m) => m.typeId === MSG_COMMAND_AMF0 && pred(m), PLAYER_WAIT_MS, from)
}

/** TCP connect, handshake, connect(app), awaited as a player does. */
async function session(port: number, app: string): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.open(port)
  // as librtmp's players do: without it, connect waits behind C2 for the edge's delayed ACK
  // (Nagle), 40 ms of the client's own making in every trial
  c.socket.setNoDelay(true)
  const from = c.messages.length
  c.command(0, 'connect', 1, { app, flashVer: 'LNX 9,0,124,2', tcUrl: `rtmp://127.0.0.1:${port}/${app}`, objectEncoding: 0 })
  const r = await reply(c, from, (m) => m.values?.[0] === '_result' || m.values?.[0] === '_error')
  if (r.values?.[0] !== '_result') throw new Error(`connect: ${String(r.values?.[0])}`)
  return c
}

/** createStream, then play (not awaited); returns the message index the play's answer follows. */
async function sendPlay(c: RtmpTestClient, name: string): Promise<number> {
  let from = c.messages.length
  c.command(0, 'createStream', 2, null)
  await reply(c, from, (m) => m.values?.[0] === '_result' && m.values?.[1] === 2)
  from = c.messages.length
  c.command(1, 'play', 0, null, name, -2000)
  return from
}

interface Played {
  /** connect → Play.Start, ms; NaN when it failed */
  readonly ms: number
  /** '' on Play.Start, else what happened instead */
  readonly failure: string
  readonly client: RtmpTestClient | null
}

/** One player from TCP connect to onStatus NetStream.Play.Start. Never throws. */
async function play(port: number, app: string, name: string): Promise<Played> {
  const t0 = performance.now()
  let client: RtmpTestClient | null = null
  try {
    client = await session(port, app)
    const from = await sendPlay(client, name)
    const status = await reply(client, from, (m) => m.values?.[0] === 'onStatus')
    const code = RtmpTestClient.code(status)
    if (code !== 'NetStream.Play.Start') return { ms: NaN, failure: `onStatus ${code}`, client }
    return { ms: performance.now() - t0, failure: '', client }
  } catch (err) {
    return { ms: NaN, failure: (err as Error).message, client }
  }
}

async function closeAll(clients: readonly (RtmpTestClient | null)[]): Promise<void> {
  await Promise.all(clients.map((c) => c?.close()))
}

/** Throws (with the edge's log) unless every player got Play.Start. */
function allStarted(edge: Edge, what: string, played: readonly Played[]): void {
  const failures = new Map<string, number>()
  for (const p of played) if (p.failure !== '') failures.set(p.failure, (failures.get(p.failure) ?? 0) + 1)
  if (failures.size === 0) return
  const lines = [...failures].map(([why, n]) => `  ${n} × ${why}`).join('\n')
  failWithLog(edge, `${what}: ${played.length - [...failures.values()].reduce((a, b) => a + b, 0)} of ${played.length} players got NetStream.Play.Start; the others:\n${lines}`)
}

// ---- (1) latency --------------------------------------------------------------------------------

async function latency(edge: Edge, notify: NotifyServer): Promise<void> {
  const times: Record<'plain' | 'gated', number[]> = { plain: [], gated: [] }
  const answered0 = (await notify.counts()).answered
  for (let i = 0; i < LATENCY_WARM_UP + LATENCY_TRIALS; i++) {
    // alternate which goes first, so neither always follows the other's teardown
    for (const app of i % 2 === 0 ? ['plain', 'gated'] as const : ['gated', 'plain'] as const) {
      const p = await play(edge.rtmpPort, app, 's1')
      allStarted(edge, `latency trial ${i} on ${app}`, [p])
      if (i >= LATENCY_WARM_UP) times[app].push(p.ms)
      await closeAll([p.client])
      await quiesce(edge)
    }
  }
  const answered = (await notify.counts()).answered - answered0
  if (answered !== LATENCY_WARM_UP + LATENCY_TRIALS) {
    failWithLog(edge, `latency: the business server answered ${answered} on_play requests, expected ${LATENCY_WARM_UP + LATENCY_TRIALS}`)
  }
  const [p50, g50] = [median(times.plain), median(times.gated)]
  const [p95, g95] = [percentile(times.plain, 0.95), percentile(times.gated, 0.95)]
  console.log(`connect → NetStream.Play.Start, one RTMP player at a time (${LATENCY_TRIALS} trials each, alternating; on_play answered at once):`)
  console.log(`  plain (no on_play, baseline): median ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms`)
  console.log(`  gated (on_play):              median ${g50.toFixed(2)} ms, p95 ${g95.toFixed(2)} ms`)
  console.log(`  gated / plain: ${(g50 / p50).toFixed(2)}× median (+${(g50 - p50).toFixed(2)} ms), ${(g95 / p95).toFixed(2)}× p95 (+${(g95 - p95).toFixed(2)} ms)`)
}

// ---- (2) throughput -----------------------------------------------------------------------------

interface Round {
  readonly wallMs: number
  readonly edgeCpuS: number
  /** the bench process and the business server over the same window, CPU seconds */
  readonly clientCpuS: number
  readonly p50: number
  readonly p95: number
  readonly max: number
  /** listenOverflows() over the burst */
  readonly overflows: number
}

async function burst(edge: Edge, notify: NotifyServer, app: 'plain' | 'gated'): Promise<Round> {
  const answered0 = (await notify.counts()).answered
  const cpu0 = cpuSeconds(edge.pid)
  const self0 = process.cpuUsage()
  const notifyCpu0 = cpuSeconds(notify.child.pid as number)
  const overflows0 = listenOverflows()
  const t0 = performance.now()
  const played = await Promise.all(Array.from({ length: PLAYERS }, () => play(edge.rtmpPort, app, 's1')))
  const wallMs = performance.now() - t0
  const overflows = listenOverflows() - overflows0
  await sleep(SETTLE_MS)
  const edgeCpuS = cpuSeconds(edge.pid) - cpu0
  const self = process.cpuUsage(self0)
  const clientCpuS = (self.user + self.system) / 1e6 + cpuSeconds(notify.child.pid as number) - notifyCpu0
  allStarted(edge, `${PLAYERS} players at once on ${app}`, played)
  const answered = (await notify.counts()).answered - answered0
  const expected = app === 'gated' ? PLAYERS : 0
  if (answered !== expected) failWithLog(edge, `${app}: the business server answered ${answered} on_play requests, expected ${expected}`)
  await closeAll(played.map((p) => p.client))
  await quiesce(edge)
  const ms = played.map((p) => p.ms)
  return { wallMs, edgeCpuS, clientCpuS, p50: median(ms), p95: percentile(ms, 0.95), max: Math.max(...ms), overflows }
}

async function throughput(edge: Edge, notify: NotifyServer): Promise<void> {
  // warm-up: the edge's JIT has seen bursts of both before anything is counted
  await burst(edge, notify, 'plain')
  await burst(edge, notify, 'gated')
  const rounds: Record<'plain' | 'gated', Round[]> = { plain: [], gated: [] }
  for (let i = 0; i < ROUNDS; i++) {
    for (const app of i % 2 === 0 ? ['gated', 'plain'] as const : ['plain', 'gated'] as const) rounds[app].push(await burst(edge, notify, app))
  }
  const m = (app: 'plain' | 'gated', f: (r: Round) => number): number => median(rounds[app].map(f))
  // CPU as the sum over the rounds: /proc counts it in 10 ms ticks
  const cpuPerRound = (app: 'plain' | 'gated'): number => rounds[app].reduce((a, r) => a + r.edgeCpuS, 0) / ROUNDS
  const row = (app: 'plain' | 'gated'): string => {
    const wall = m(app, (r) => r.wallMs)
    const cpu = cpuPerRound(app)
    return `  ${app.padEnd(6)} ${wall.toFixed(0).padStart(6)} ms ${(PLAYERS / wall * 1000).toFixed(0).padStart(7)}/s   ` +
      `${m(app, (r) => r.p50).toFixed(0).padStart(4)} / ${m(app, (r) => r.p95).toFixed(0).padStart(4)} / ${m(app, (r) => r.max).toFixed(0).padStart(4)} ms   ` +
      `${cpu.toFixed(2).padStart(5)} s   ${(cpu / PLAYERS * 1e6).toFixed(0).padStart(5)} µs   ` +
      `${(m(app, (r) => r.clientCpuS) / (wall / 1000)).toFixed(2)} core   ${rounds[app].map((r) => r.overflows).join(', ')}`
  }
  console.log(`\n${PLAYERS} RTMP players arriving at once, all got Play.Start (${ROUNDS} rounds each, alternating; edge on one core;`)
  console.log('wall and Play.Start times: median round; edge CPU: mean round):')
  console.log('  app      wall   plays/s   Play.Start p50 / p95 / max   edge CPU   per play   ' +
    'players + business server   listen queue overflows per round (1 s SYN retry each)')
  console.log(row('plain'))
  console.log(row('gated'))
  const [cpuP, cpuG] = [cpuPerRound('plain'), cpuPerRound('gated')]
  const [wallP, wallG] = [m('plain', (r) => r.wallMs), m('gated', (r) => r.wallMs)]
  console.log(`  gated / plain: edge CPU per play ${(cpuG / cpuP).toFixed(2)}× (+${((cpuG - cpuP) / PLAYERS * 1e6).toFixed(0)} µs per callout), wall ${(wallG / wallP).toFixed(2)}×`)
  console.log(`  callouts per edge CPU second: ${(PLAYERS / cpuG).toFixed(0)} with the whole RTMP play around each (marginal, callout alone: ${(PLAYERS / (cpuG - cpuP)).toFixed(0)})`)
}

// ---- (3) memory ---------------------------------------------------------------------------------

/**
 * What a fresh edge holds per player: `connected` (connect answered, no play), `plain` (idle
 * after Play.Start on plain), `hung` (play sent, on_play callout open and unanswered).
 */
type Held = 'connected' | 'plain' | 'hung'

/** RSS growth of a fresh edge holding HELD players in `mode`, from a baseline after a warm-up. */
async function heldRss(notify: NotifyServer, mode: Held): Promise<number> {
  const edge = await startBenchEdge(notify.port)
  try {
    const open = async (n: number): Promise<RtmpTestClient[]> => {
      if (mode === 'connected') return Promise.all(Array.from({ length: n }, () => session(edge.rtmpPort, 'plain')))
      if (mode === 'plain') {
        const played = await Promise.all(Array.from({ length: n }, () => play(edge.rtmpPort, 'plain', 's1')))
        allStarted(edge, `${n} idle players on plain`, played)
        return played.map((p) => p.client as RtmpTestClient)
      }
      const held0 = (await notify.counts()).held
      const clients = await Promise.all(Array.from({ length: n }, async () => {
        const c = await session(edge.rtmpPort, 'hung')
        await sendPlay(c, 's1')
        return c
      }))
      await untilCounts(notify, (c) => c.held - held0 === n, `${n} players on hung: the callouts did not all arrive`)
        .catch((err: Error) => failWithLog(edge, err.message))
      if (clients.some((c) => c.messages.some((m) => m.values?.[0] === 'onStatus'))) failWithLog(edge, 'a player on hung got an onStatus while its on_play was unanswered')
      return clients
    }
    const close = async (clients: RtmpTestClient[]): Promise<void> => {
      await closeAll(clients)
      await quiesce(edge)
      // a player that leaves ends its callout: the business server sees every held request closed
      if (mode === 'hung') await untilCounts(notify, (c) => c.heldOpen === 0, 'players left, their callouts stayed open').catch((err: Error) => failWithLog(edge, err.message))
    }
    await close(await open(MEMORY_WARM_UP))
    await sleep(SETTLE_MS)
    const rss0 = rssBytes(edge.pid)
    const clients = await open(HELD)
    await sleep(SETTLE_MS)
    const rss1 = rssBytes(edge.pid)
    await close(clients)
    return rss1 - rss0
  } finally {
    await edge.proc.stop()
  }
}

/**
 * JS heap and external memory per NotifyClient.get held open, in this process after gc(): the
 * callout alone, without the session and the pipeline around it. NaN without --expose-gc.
 */
async function calloutHeap(notify: NotifyServer): Promise<number> {
  const gc = globalThis.gc
  if (gc === undefined) return NaN
  const client = new NotifyClient(new HostResolver({ addresses: [], timeoutMs: QUIESCE_WAIT_MS }), new NodeMetrics())
  const hold = async (n: number, measure: () => void): Promise<void> => {
    const held0 = (await notify.counts()).held
    // one signal for all: each callout listens on it, as each of the edge's listens on its request's
    const gone = new AbortController()
    setMaxListeners(n + 1, gone.signal)
    const pending = Array.from({ length: n }, (_, i) => client.get({
      call: 'play', host: '127.0.0.1', port: notify.port, hostHeader: '127.0.0.1', timeoutMs: 30_000,
      target: `/hang?call=play&act=start&domain=127.0.0.1&app=hung&name=s1&clientid=${i + 1}`,
    }, gone.signal))
    await untilCounts(notify, (c) => c.held - held0 === n, `${n} NotifyClient callouts did not all arrive`)
    measure()
    gone.abort()
    const answers = await Promise.all(pending)
    if (answers.some((a) => a.status !== -1)) throw new Error('a held callout got an answer')
    await untilCounts(notify, (c) => c.heldOpen === 0, 'aborted callouts stayed open')
  }
  const used = (): number => {
    gc()
    gc()
    const m = process.memoryUsage()
    return m.heapUsed + m.external
  }
  await hold(MEMORY_WARM_UP, () => {})
  const before = used()
  let during = 0
  await hold(HELD, () => { during = used() })
  client.close()
  return (during - before) / HELD
}

async function memory(notify: NotifyServer): Promise<void> {
  const modes: readonly Held[] = ['connected', 'plain', 'hung']
  const growth: Record<Held, number[]> = { connected: [], plain: [], hung: [] }
  for (let i = 0; i < MEMORY_REPS; i++) {
    for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) growth[mode].push(await heldRss(notify, mode))
  }
  const g = (mode: Held): number => median(growth[mode])
  const per = (b: number): string => `${(b / HELD / KiB).toFixed(1)} KB`
  const row = (mode: Held, what: string): string =>
    `  ${what.padEnd(44)} +${(g(mode) / MiB).toFixed(1).padStart(5)} MB   ${per(g(mode)).padStart(8)}   (${growth[mode].map((b) => (b / MiB).toFixed(1)).join(', ')} MB)`
  console.log(`\nedge RSS growth with ${HELD} players held (fresh edge per case, median of ${MEMORY_REPS} runs; RSS, so the sockets' kernel buffers are not in it):`)
  console.log(`  ${'case'.padEnd(44)}  growth     per player   (each run)`)
  console.log(row('connected', 'connected, no play'))
  console.log(row('plain', 'plain, idle after Play.Start (baseline)'))
  console.log(row('hung', 'hung, play waiting on its on_play callout'))
  console.log(`  per pending callout, (hung − plain) / ${HELD}: ${per(g('hung') - g('plain'))} (hung ${(g('hung') / g('plain')).toFixed(2)}× plain); ` +
    `a waiting play in all, (hung − connected) / ${HELD}: ${per(g('hung') - g('connected'))}`)
  const heap = await calloutHeap(notify)
  console.log(`  the callout alone, ${HELD} NotifyClient.get held open in the bench process: ` +
    (Number.isNaN(heap) ? 'not measured (run with --expose-gc)' : `${(heap / KiB).toFixed(1)} KB of JS heap + external each, after gc()`))
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  pin(process.pid, CLIENT_CPU)
  const notify = await startNotifyServer()
  let edge: Edge | null = null
  try {
    pin(notify.child.pid as number, CLIENT_CPU)
    edge = await startBenchEdge(notify.port)
    await latency(edge, notify)
    await throughput(edge, notify)
    await edge.proc.stop()
    edge = null
    await memory(notify)
  } finally {
    await edge?.proc.stop()
    await notify.stop()
  }
}

await main()
