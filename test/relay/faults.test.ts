// Issue 4, "Faults never spread": an origin or a notify server that misbehaves affects only the
// players of its own stream. One edge runs two applications:
//   healthy  `pull rtmp://<FakeRtmpOrigin serving media>`, with a long-lived witness player;
//   faulty   `on_pull` to a notify server the test scripts per subtest: it either redirects
//            (302 Location) to that subtest's misbehaving origin, or misbehaves itself.
// For each fault: the affected players get the spec's outcome (pingos-behaviour.md §2.3, §2.5,
// §2.6, §3.4, §8.6), the witness keeps receiving media, the edge process stays alive, and once
// the affected players have left, no connection to the faulty server remains open.
//
// The last root test runs the node in this process and checks with
// process.getActiveResourcesInfo() that a failing and a succeeding pull leave no socket or
// timer behind once every player has gone.
import { once, EventEmitter } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig } from '../../lib/conf/check.js'
import { Logger } from '../../lib/core/log.js'
import { ServerHandshake, ServerHandshakeState } from '../../lib/rtmp/handshake.js'
import { EdgeNode } from '../../lib/server.js'
import { freePort, startEdge, type EdgeProcess } from '../helpers/node.js'
import { FakeRtmpOrigin, hang, RecordingHttpServer, reply, serveFlv, type HttpAnswer, type RecordedRequest } from '../helpers/origins.js'
import {
  actOf, configB, mediaCount, playerH, playerR, quietFor, requestWhere, statuses, statusInfo,
} from '../helpers/pull-scenarios.js'
import type { RawHttpClient } from '../helpers/raw-http.js'
import type { RtmpTestClient } from '../helpers/rtmp-client.js'

/** relay_reconnect: an attempt's deadline, and the re-ask period with a silent notify server */
const RELAY_RECONNECT_MS = 3000
const DEADLINE_TOLERANCE_MS = 150
/** failed_reconnect: the first back-off; it doubles per failed attempt (§2.5) */
const FAILED_RECONNECT_MS = 50
/** per attempt on top of the back-off: an on_pull round trip and a connect on loopback */
const ATTEMPT_OVERHEAD_MS = 40
/** the edge's server `timeout 5s`: HTTP-FLV players with no data get 503 then (§2.6) */
const FLV_TIMEOUT_MS = 5000
const FLV_TIMEOUT_LATE_MS = 300
/** bound on any single expected event (a request, a log line, more witness media) */
const EVENT_WAIT_MS = 5000
/** bound on media through a fresh pull */
const MEDIA_WAIT_MS = 8000
/** after the affected players left: the pull stops at once (§2.4), but an on_pull request in
 *  flight may run to its own timeout= (3 s) */
const CLOSE_WAIT_MS = RELAY_RECONNECT_MS + 1500
/** how long "no further request" is watched */
const QUIET_MS = 2000
/** max_message default (1m): a longer RTMP message from an origin ends that pull leg */
const MAX_MESSAGE_BYTES = 1024 * 1024
/** the largest length an RTMP chunk header can declare (24 bits) */
const RTMP_MAX_DECLARED_LENGTH = 0xffffff

// ---- small servers the shared helpers do not have -------------------------------------------

interface TcpConnection {
  readonly at: number
  readonly socket: Socket
}

/** A TCP server that hands every connection to a script and keeps the sockets. */
class ScriptedOrigin extends EventEmitter {
  readonly connections: TcpConnection[] = []

  private constructor(private readonly server: Server, readonly port: number) {
    super()
  }

  static async start(t: Test, script: (socket: Socket) => void): Promise<ScriptedOrigin> {
    let self: ScriptedOrigin | null = null
    const server = createServer((socket) => {
      const o = self as ScriptedOrigin
      socket.on('error', () => {})
      o.connections.push({ at: Date.now(), socket })
      o.emit('connection')
      script(socket)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    self = new ScriptedOrigin(server, (server.address() as { port: number }).port)
    t.teardown(() => (self as ScriptedOrigin).stop())
    return self
  }

  async connection(n: number, timeoutMs = EVENT_WAIT_MS): Promise<TcpConnection> {
    const signal = AbortSignal.timeout(timeoutMs)
    while (this.connections.length <= n) await once(this, 'connection', { signal })
    return this.connections[n]
  }

  async stop(): Promise<void> {
    for (const c of this.connections) c.socket.destroy()
    this.server.close()
    await once(this.server, 'close')
  }
}

/**
 * An RTMP server that completes the handshake, then calls `afterHandshake` (once per
 * connection) with the socket.
 */
function afterRtmpHandshake(afterHandshake: (socket: Socket) => void): (socket: Socket) => void {
  return (socket) => {
    const hs = new ServerHandshake()
    const onData = (d: Buffer): void => {
      try {
        hs.push(d)
      } catch {
        // a broken client handshake: this fixture only serves edge's well-formed one
        socket.destroy()
        return
      }
      for (const out of hs.takeOutput()) socket.write(out)
      if (hs.state !== ServerHandshakeState.DONE) return
      socket.off('data', onData)
      socket.on('data', () => {}) // connect and whatever follows: read and ignored
      afterHandshake(socket)
    }
    socket.on('data', onData)
  }
}

/** RTMP 5.3.1: fmt 0 basic header for csid 3, timestamp 0, `length`, type 20 (AMF0 command), stream 0. */
function chunkHeaderDeclaring(length: number): Buffer {
  const b = Buffer.alloc(12)
  b[0] = 0x03
  b.writeUIntBE(0, 1, 3)
  b.writeUIntBE(length, 4, 3)
  b[7] = 20
  b.writeUInt32LE(0, 8)
  return b
}

/** A raw HTTP response head (and optional body), written as is; the connection stays open. */
function rawAnswer(head: string, body: Buffer | string = ''): HttpAnswer {
  return (req) => {
    req.socket.write(head)
    if (body.length > 0) req.socket.write(body)
  }
}

/** `first` for the first request, `rest` for every later one. */
function firstThen(first: HttpAnswer, rest: HttpAnswer): HttpAnswer {
  let n = 0
  return (req) => (n++ === 0 ? first(req) : rest(req))
}

/** Resolves true once every socket has closed (a reset counts), false after `timeoutMs`. */
async function allClosed(sockets: readonly Socket[], timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
  const closed = Promise.all(sockets.map((s) => (s.closed ? null : new Promise((resolve) => s.once('close', resolve)))))
  try {
    return await Promise.race([closed.then(() => true as const), limit])
  } finally {
    clearTimeout(timer)
  }
}

// ---- in-process: no handle outlives its players ---------------------------------------------

/** the resource kinds a leak would show up as */
const WATCHED_RESOURCES = new Set(['TCPSocketWrap', 'Timeout', 'TCPServerWrap', 'GetAddrInfoReqWrap'])
const RESOURCE_POLL_MS = 20
const RESOURCE_SETTLE_MS = 5000

function watchedResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => WATCHED_RESOURCES.has(r)).sort()
}

function countKinds(list: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of list) out[r] = (out[r] ?? 0) + 1
  return out
}

t.test('in-process: a failing and a succeeding pull leave no socket or timer once the players left', async (t) => {
  const good = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => good.stop())
  const bad = await FakeRtmpOrigin.start({ kind: 'close-on-accept' })
  t.teardown(() => bad.stop())
  const stalled = await FakeRtmpOrigin.start({ kind: 'silent-after-handshake' })
  t.teardown(() => stalled.stop())
  const flv = await RecordingHttpServer.start(serveFlv)
  t.teardown(() => flv.stop())
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'edge-leak-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const logFile = join(dir, 'error.log')
  const confFile = join(dir, 'nginx.conf')
  await writeFile(confFile, `error_log ${logFile} info;
events {}
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        serverid edge;
        timeout 5s;
        application good { live on; cache_time 1s; send_all on; pull rtmp://127.0.0.1:${good.port} app=live; }
        application goodflv { live on; pull http://127.0.0.1:${flv.port} app=live; }
        application bad { live on; pull rtmp://127.0.0.1:${bad.port} app=live; }
        application stalled { live on; pull rtmp://127.0.0.1:${stalled.port} app=live; }
    }
}
http { server { listen 127.0.0.1:${httpPort}; location /flv { flv_live 127.0.0.1:${rtmpPort}; } } }
`)
  const loaded = loadConfig({ prefix: dir, confFile, globals: null })
  const node = new EdgeNode(loaded.tree, new Logger(loaded.tree.errorLogs), 'edge/test')
  await node.start()
  t.teardown(() => node.stop())

  const baseline = watchedResources()

  const okR = await playerR(t, rtmpPort, { name: 's1', app: 'good' })
  const okH = await playerH(t, httpPort, { target: '/flv/s1?app=good' })
  const flvR = await playerR(t, rtmpPort, { name: 's3', app: 'goodflv' })
  const badR = await playerR(t, rtmpPort, { name: 's2', app: 'bad' })
  const badH = await playerH(t, httpPort, { target: '/flv/s2?app=bad' })
  const stalledR = await playerR(t, rtmpPort, { name: 's4', app: 'stalled' })
  await okR.client.until(() => mediaCount(okR.client) > 0, MEDIA_WAIT_MS, 'media through the good RTMP pull')
  await okH.until(() => okH.tags.length > 0, MEDIA_WAIT_MS, 'HTTP-FLV media through the good pull')
  await flvR.client.until(() => mediaCount(flvR.client) > 0, MEDIA_WAIT_MS, 'media through the good HTTP-FLV pull')
  await bad.connection(3, EVENT_WAIT_MS)
  t.pass('the bad pull failed and was retried at least 3 times while its players waited')
  t.notOk(badR.client.closed, 'its RTMP player waits')
  await stalled.connection(1, RELAY_RECONNECT_MS + EVENT_WAIT_MS)
  t.pass('the stalled pull reached its deadline and was retried')
  // give a (wrong) second attempt started alongside that retry the time to show up: the next
  // right one is a whole relay_reconnect away
  await quietFor(stalled, 'connection', 500)
  t.ok(watchedResources().length > baseline.length, 'players and pulls hold resources while they run')

  for (const p of [okR.client, flvR.client, badR.client, stalledR.client]) await p.close()
  for (const h of [okH, badH]) await h.close()

  // polling is the bounded wait here: no event says "every handle of the node is gone"
  const deadline = Date.now() + RESOURCE_SETTLE_MS
  let now = watchedResources()
  while (now.length > baseline.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, RESOURCE_POLL_MS))
    now = watchedResources()
  }
  t.same(countKinds(now), countKinds(baseline), 'back to the listeners (and what the test itself holds) only')
  if (now.length !== baseline.length) t.comment(`baseline ${JSON.stringify(countKinds(baseline))}, after ${JSON.stringify(countKinds(now))}`)
  t.ok(good.connections.every((c) => c.closedAt !== null), 'the good RTMP origin connection closed')
  t.ok(bad.connections.every((c) => c.closedAt !== null), 'every bad origin connection closed')
  t.same(stalled.connections.filter((c) => c.closedAt === null).map((c) => c.at - stalled.connections[0].at), [],
    `every stalled origin connection closed (${stalled.connections.length} seen; any left open are listed by ms after the first)`)
  t.ok(flv.requests.every((r) => r.socket.closed), 'the HTTP-FLV origin connection closed')
  const log = await readFile(logFile, 'utf8')
  t.match(log, /pull: stopped: last player left, app: good, name: s1/, 'the good pull stopped with its last player')
  t.match(log, /pull: stopped: [^\n]*, app: bad, name: s2/, 'the bad pull stopped too')
})

// ---- faults against a real edge process -----------------------------------------------------

t.test('faults never spread', async (t) => {
  const healthyOrigin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => healthyOrigin.stop())
  const notify = await RecordingHttpServer.start(reply(200))
  t.teardown(() => notify.stop())
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  // configB's `application *` holds the faulty app; the healthy one is named first
  const edge: EdgeProcess = await startEdge(configB(rtmpPort, httpPort,
    `on_pull http://127.0.0.1:${notify.port}/pull stage=start,done;`,
  ).replace('        application * {', `        application healthy {
            live on;
            cache_time 1s;
            send_all on;
            pull rtmp://127.0.0.1:${healthyOrigin.port} app=live;
        }
        application faulty {`))
  t.teardown(() => edge.stop())

  const witness = await playerR(t, rtmpPort, { name: 'w1', app: 'healthy' })
  const witnessCode = statusInfo(witness.firstStatus).code
  if (witnessCode !== 'NetStream.Play.Start') throw new Error(`witness play: ${String(witnessCode)}`)
  await witness.client.until(() => mediaCount(witness.client) > 0, MEDIA_WAIT_MS, 'the witness to receive media')

  /** Waits (bounded) for a log line matching `re` and shows it in the TAP output. */
  async function logged(t: Test, re: RegExp, what: string): Promise<void> {
    await edge.waitForLog(re, EVENT_WAIT_MS)
    const line = edge.log().split('\n').find((l) => re.test(l)) ?? ''
    t.pass(what)
    t.comment(line)
  }

  /** The witness receives more media from now on; the node is alive. */
  async function unaffected(t: Test): Promise<void> {
    const before = mediaCount(witness.client)
    await witness.client.until(() => mediaCount(witness.client) > before, EVENT_WAIT_MS, 'more witness media')
    t.ok(mediaCount(witness.client) > before, `the witness kept receiving media (${before} → ${mediaCount(witness.client)})`)
    t.notOk(witness.client.closed, 'the witness is still connected')
    t.equal(edge.child.exitCode, null, 'edge is still running')
    t.equal(edge.child.signalCode, null, 'edge was not killed by a signal')
  }

  /** The affected players leave; then every connection to the faulty server closes. */
  async function leaveAndCheckClosed(t: Test, name: string, players: { close(): Promise<void> }[], sockets: () => Socket[], what: string): Promise<void> {
    for (const p of players) await p.close()
    const leftAt = Date.now()
    // a request sent as the players leave (act=done) opens one more connection: wait until the
    // set of connections stops growing and all of them are closed
    let seen = -1
    while (sockets().length !== seen && Date.now() - leftAt < CLOSE_WAIT_MS) {
      seen = sockets().length
      await allClosed(sockets(), CLOSE_WAIT_MS - (Date.now() - leftAt))
    }
    const open = sockets().filter((s) => !s.closed)
    t.equal(open.length, 0, `no connection to the ${what} remains ${Date.now() - leftAt} ms after the players left (${sockets().length} seen)`)
    if (open.length > 0) {
      t.comment(`still open: ${open.map((s) => `${s.remoteAddress}:${s.remotePort}`).join(', ')}`)
      t.comment(edge.log().split('\n').filter((l) => l.includes(`name: ${name}`)).slice(-30).join('\n'))
    }
  }

  /** Player R waits (only Play.Start, no media, not closed). */
  function rWaits(t: Test, r: RtmpTestClient, why: string): void {
    t.notOk(r.closed, `player R stays connected (${why})`)
    t.same(statuses(r).map((s) => s.code), ['NetStream.Play.Start'], 'player R: Play.Start and no other onStatus')
    t.equal(mediaCount(r), 0, 'player R: no media')
  }

  /** Player H gets 503 about `timeout` after its request (§2.6). */
  async function h503(t: Test, h: RawHttpClient): Promise<void> {
    await h.waitHead(FLV_TIMEOUT_MS + 2000)
    t.equal(h.status, 503, 'player H: 503')
    const at = h.firstByteMs ?? NaN
    t.ok(at >= FLV_TIMEOUT_MS - 50 && at <= FLV_TIMEOUT_MS + FLV_TIMEOUT_LATE_MS, `player H: no byte before the 503 at ${Math.round(at)} ms`)
  }

  const byName = (name: string) => (q: { line: string }): boolean => q.line.includes(`&name=${name}&`)
  const notifySockets = (name: string) => (): Socket[] => notify.requests.filter(byName(name)).map((q) => q.socket)

  // ---- RTMP origins ----

  await t.test('RTMP origin stalls after the handshake: 3 s deadline, next attempt at once', async (t) => {
    const name = 'stall'
    const origin = await FakeRtmpOrigin.start({ kind: 'silent-after-handshake' })
    t.teardown(() => origin.stop())
    notify.answer = reply(302, { Location: `rtmp://127.0.0.1:${origin.port}/live/${name}` })
    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    const h = await playerH(t, httpPort, { target: `/flv/${name}?app=faulty` })
    const c0 = await origin.connection(0)
    const c1 = await origin.connection(1, RELAY_RECONNECT_MS + EVENT_WAIT_MS)
    const start0 = await requestWhere(notify, (q) => byName(name)(q) && actOf(q) === 'start', 0)
    const held = (c0.closedAt ?? NaN) - start0.at
    t.ok(Math.abs(held - RELAY_RECONNECT_MS) <= DEADLINE_TOLERANCE_MS, `the stalled connection was closed ${held} ms after its attempt began (3000)`)
    const start1 = await requestWhere(notify, (q) => byName(name)(q) && actOf(q) === 'start', 1)
    t.ok(start1.at - (c0.closedAt ?? NaN) <= ATTEMPT_OVERHEAD_MS, `the next attempt's on_pull came ${start1.at - (c0.closedAt ?? NaN)} ms after the close (at once)`)
    t.ok(c1.at - start1.at <= ATTEMPT_OVERHEAD_MS, `and its origin connection ${c1.at - start1.at} ms after that`)
    await edge.waitForLog(new RegExp(`pull: relay timeout, app: faulty, name: ${name}`), EVENT_WAIT_MS)
    await h503(t, h)
    // ~5 s after the start: exactly one attempt after the deadline (the next deadline is at ~6 s)
    t.equal(origin.connections.length, 2, 'one new origin connection after the deadline, not more')
    t.equal(notify.requests.filter((q) => byName(name)(q) && actOf(q) === 'start').length, 2, 'one new act=start after the deadline, not more')
    rWaits(t, r.client, 'the pull keeps retrying')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client, h], () => origin.connections.map((c) => c.socket), 'stalled origin')
  })

  await t.test('RTMP origin closes at once: back-off 50, 100, 200 ms …', async (t) => {
    const name = 'reset'
    const origin = await FakeRtmpOrigin.start({ kind: 'close-on-accept' })
    t.teardown(() => origin.stop())
    notify.answer = reply(302, { Location: `rtmp://127.0.0.1:${origin.port}/live/${name}` })
    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    const h = await playerH(t, httpPort, { target: `/flv/${name}?app=faulty` })
    await origin.connection(4, EVENT_WAIT_MS)
    for (let i = 1; i <= 4; i++) {
      const gap = origin.connections[i].at - origin.connections[i - 1].at
      const backoff = FAILED_RECONNECT_MS << (i - 1)
      t.ok(gap >= backoff && gap <= backoff + ATTEMPT_OVERHEAD_MS, `attempt ${i} came ${gap} ms after the previous one (back-off ${backoff})`)
    }
    await h503(t, h)
    rWaits(t, r.client, 'the pull keeps retrying')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client, h], () => origin.connections.map((c) => c.socket), 'resetting origin')
  })

  await t.test('RTMP origin sends garbage instead of S0 S1 S2', async (t) => {
    const name = 'garbage'
    const garbage = Buffer.concat([Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n', 'latin1'), Buffer.alloc(3100, 0xa5)])
    const origin = await ScriptedOrigin.start(t, (socket) => {
      socket.once('data', () => socket.write(garbage))
    })
    notify.answer = reply(302, { Location: `rtmp://127.0.0.1:${origin.port}/live/${name}` })
    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    const h = await playerH(t, httpPort, { target: `/flv/${name}?app=faulty` })
    await logged(t, new RegExp(`pull: closed: [^\\n]*handshake[^\\n]*, app: faulty, name: ${name}`), 'the pull leg logged the bad handshake and closed')
    await origin.connection(2, EVENT_WAIT_MS)
    t.pass('and was retried')
    await h503(t, h)
    rWaits(t, r.client, 'the pull keeps retrying')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client, h], () => origin.connections.map((c) => c.socket), 'garbage origin')
  })

  await t.test(`RTMP origin declares a ${RTMP_MAX_DECLARED_LENGTH}-byte message (> max_message 1m)`, async (t) => {
    const name = 'huge'
    t.ok(RTMP_MAX_DECLARED_LENGTH > MAX_MESSAGE_BYTES, 'the declared length is over max_message')
    const origin = await ScriptedOrigin.start(t, afterRtmpHandshake((socket) => {
      socket.write(Buffer.concat([chunkHeaderDeclaring(RTMP_MAX_DECLARED_LENGTH), Buffer.alloc(128, 0x42)]))
    }))
    notify.answer = reply(302, { Location: `rtmp://127.0.0.1:${origin.port}/live/${name}` })
    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    const c0 = await origin.connection(0)
    await logged(t, new RegExp(`pull: closed: [^\\n]*${RTMP_MAX_DECLARED_LENGTH}[^\\n]*, app: faulty, name: ${name}`), 'the pull leg logged the oversized message and closed')
    t.ok(await allClosed([c0.socket], EVENT_WAIT_MS), 'edge closed that origin connection')
    await origin.connection(1, EVENT_WAIT_MS)
    t.pass('and retried')
    rWaits(t, r.client, 'the pull keeps retrying')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client], () => origin.connections.map((c) => c.socket), 'oversized-message origin')
  })

  // ---- HTTP-FLV origins ----

  await t.test('HTTP origin answers 200 with an HTML body: FLV error, retried', async (t) => {
    const name = 'html'
    const html = '<html><head><title>Welcome</title></head><body>It works!</body></html>\n'
    const origin = await RecordingHttpServer.start(firstThen(
      rawAnswer(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${html.length}\r\n\r\n`, html), serveFlv))
    t.teardown(() => origin.stop())
    notify.answer = reply(302, { Location: `http://127.0.0.1:${origin.port}/live/${name}` })
    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    await logged(t, new RegExp(`pull: closed: [^\\n]*ERR_FLV_FORMAT[^\\n]*, app: faulty, name: ${name}`), 'the HTML body was refused as FLV and logged')
    await origin.request(1)
    t.pass('the pull was retried')
    const h = await playerH(t, httpPort, { target: `/flv/${name}?app=faulty` })
    await r.client.until(() => mediaCount(r.client) > 0, MEDIA_WAIT_MS, 'media once the origin serves FLV')
    await h.until(() => h.tags.length > 0, MEDIA_WAIT_MS, 'HTTP-FLV media once the origin serves FLV')
    t.equal(h.status, 200, 'player H: 200 once media flows')
    t.same(statuses(r.client).map((s) => s.code), ['NetStream.Play.Start'], 'player R: no error status, media after the retry')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client, h], () => origin.requests.map((q) => q.socket), 'HTML origin')
  })

  await t.test('HTTP origin answers 302 (to itself): not followed; R gets StreamError, H gets 302', async (t) => {
    const name = 'loop'
    // the Location names the origin itself, whose port is known once it listens
    const origin = await RecordingHttpServer.start(hang)
    t.teardown(() => origin.stop())
    origin.answer = reply(302, { Location: `http://127.0.0.1:${origin.port}/live/${name}` })
    notify.answer = reply(302, { Location: `http://127.0.0.1:${origin.port}/live/${name}` })

    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    await r.client.until(() => r.client.closed, EVENT_WAIT_MS, 'player R to be closed')
    t.same(statuses(r.client), [
      { level: 'status', code: 'NetStream.Play.Start', description: 'Start live' },
      { level: 'error', code: 'NetStream.Play.StreamError', description: 'Stream Error' },
    ], 'player R: the mapped onStatus (§2.3), then close')
    t.equal(origin.requests.length, 1, 'the redirect was not followed')

    const h = await playerH(t, httpPort, { target: `/flv/${name}?app=faulty` })
    await h.waitHead()
    t.equal(h.status, 302, 'player H: the origin\'s status, 302 (§2.3)')
    t.ok(await quietFor(origin, 'request', QUIET_MS / 2), 'no further origin request')
    t.equal(origin.requests.length, 2, 'one origin request per refused player, none followed')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client, h], () => origin.requests.map((q) => q.socket), 'redirecting origin')
  })

  await t.test('HTTP origin sends a truncated tag, then closes: retried', async (t) => {
    const name = 'trunc'
    const tagHeader = Buffer.from([9, 0x00, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0]) // video, DataSize 1000
    const truncated: HttpAnswer = (req) => {
      req.socket.write('HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\n\r\n')
      req.socket.write(Buffer.concat([Buffer.from('464c5601050000000900000000', 'hex'), tagHeader, Buffer.alloc(100, 0x17)]))
      req.socket.end()
    }
    const origin = await RecordingHttpServer.start(firstThen(truncated, serveFlv))
    t.teardown(() => origin.stop())
    notify.answer = reply(302, { Location: `http://127.0.0.1:${origin.port}/live/${name}` })
    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    await logged(t, new RegExp(`pull: closed: [^\\n]*, app: faulty, name: ${name}`), 'the truncated body ended that attempt, logged')
    await origin.request(1)
    t.pass('the pull was retried')
    await r.client.until(() => mediaCount(r.client) > 0, MEDIA_WAIT_MS, 'media after the retry')
    t.pass('player R receives media from the retry')
    t.notOk(r.client.closed, 'player R stayed connected')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client], () => origin.requests.map((q) => q.socket), 'truncating origin')
  })

  // ---- notify server ----

  await t.test('notify server hangs: re-asked every 3 s; players wait', async (t) => {
    const name = 'nhang'
    notify.answer = hang
    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    const h = await playerH(t, httpPort, { target: `/flv/${name}?app=faulty` })
    const s0 = await requestWhere(notify, (q) => byName(name)(q) && actOf(q) === 'start', 0)
    const s1 = await requestWhere(notify, (q) => byName(name)(q) && actOf(q) === 'start', 1, RELAY_RECONNECT_MS + EVENT_WAIT_MS)
    t.ok(Math.abs(s1.at - s0.at - RELAY_RECONNECT_MS) <= DEADLINE_TOLERANCE_MS, `asked again ${s1.at - s0.at} ms later (3000)`)
    await h503(t, h)
    rWaits(t, r.client, 'no answer is retried')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client, h], notifySockets(name), 'hanging notify server')
  })

  for (const [label, name, headers] of [
    ['302 without Location', 'nnoloc', {}],
    ['302 with Location: ftp://x', 'nftp', { Location: 'ftp://x' }],
  ] as const) {
    await t.test(`notify server answers ${label}: retried with back-off; players wait`, async (t) => {
      notify.answer = reply(302, headers)
      const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
      const h = await playerH(t, httpPort, { target: `/flv/${name}?app=faulty` })
      const isStart = (q: RecordedRequest): boolean => byName(name)(q) && actOf(q) === 'start'
      await requestWhere(notify, isStart, 4, EVENT_WAIT_MS)
      const starts = notify.requests.filter(isStart)
      for (let i = 1; i <= 4; i++) {
        const gap = starts[i].at - starts[i - 1].at
        const backoff = FAILED_RECONNECT_MS << (i - 1)
        t.ok(gap >= backoff && gap <= backoff + ATTEMPT_OVERHEAD_MS, `start ${i} came ${gap} ms after the previous one (back-off ${backoff})`)
      }
      const acts = notify.requests.filter(byName(name)).slice(0, 9).map(actOf)
      t.same(acts, ['start', 'done', 'start', 'done', 'start', 'done', 'start', 'done', 'start'], 'each failed attempt sends done before the next start')
      await h503(t, h)
      rWaits(t, r.client, 'the pull keeps retrying')
      await unaffected(t)
      await leaveAndCheckClosed(t, name, [r.client, h], notifySockets(name), 'notify server')
    })
  }

  await t.test('notify server answers 200 with a 1 MB body: nothing to pull, body not read', async (t) => {
    const name = 'nbig'
    const body = Buffer.alloc(1024 * 1024, 0x78)
    const closedAfterMs: number[] = []
    notify.answer = (req) => {
      req.socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`)
      req.socket.write(body)
      req.socket.once('close', () => closedAfterMs.push(Date.now() - req.at))
    }
    const isName = byName(name)
    const r = await playerR(t, rtmpPort, { name, app: 'faulty' })
    const start = await requestWhere(notify, (q) => isName(q) && actOf(q) === 'start', 0)
    const done = await requestWhere(notify, (q) => isName(q) && actOf(q) === 'done', 0)
    t.ok(done.at - start.at < 500, `act=done ${done.at - start.at} ms after start: the 200 was taken without waiting for the body`)
    t.ok(await allClosed([start.socket], EVENT_WAIT_MS), 'the notify connection closed')
    t.ok((closedAfterMs[0] ?? Infinity) < 1000, `edge closed the notify connection ${closedAfterMs[0]} ms after the request`)

    // a later player asks again (§3.4), and is also told 200
    const h = await playerH(t, httpPort, { target: `/flv/${name}?app=faulty` })
    await requestWhere(notify, (q) => isName(q) && actOf(q) === 'done', 1)
    await h503(t, h)
    t.same(notify.requests.filter(isName).map(actOf), ['start', 'done', 'start', 'done'], 'no retry: one start and done per asking player')
    rWaits(t, r.client, '200 = nothing to pull')
    await unaffected(t)
    await leaveAndCheckClosed(t, name, [r.client, h], notifySockets(name), 'notify server')
  })
})
