// Issue 9: a pull leg waited forever on an origin that answered and then went silent. Its only
// deadline (relay_reconnect) ends once the leg is publishing, and the outbound clients had no
// timer, so an origin that kept the TCP connection open and sent nothing held the stream
// forever (PingOS hangs the same way: pingos-observed.md §3, "200 with Content-Length: 0 ...
// left the leg publishing with no data").
//
// Now every read of an origin leg is bounded by the rtmp server's `timeout`, in every state.
// The edge here runs `timeout 1s` and `relay_reconnect 10s`, so the per-attempt deadline cannot
// be what drops a silent origin. For each kind of silence the test checks, on the origin's
// side, that edge closes the connection about `timeout` after the origin's last byte (and not
// before), that it logs one line, and that it connects again while its players stay.
import { EventEmitter, once } from 'node:events'
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { freePort, startEdge, type EdgeProcess } from '../helpers/node.js'
import { FakeRtmpOrigin, RecordingHttpServer, flvTagBytes, paceMedia, type HttpAnswer, type OriginConnection } from '../helpers/origins.js'
import { mediaCount, playerH, playerR, statuses } from '../helpers/pull-scenarios.js'

/** the edge's rtmp server `timeout 1s`: the read timeout of its pull legs */
const TIMEOUT_MS = 1000
/** relay_reconnect 10s: the per-attempt deadline, far beyond the read timeout */
const RELAY_RECONNECT_MS = 10_000
/** the origin's last byte may precede the moment it records as "silent" by a frame interval or so */
const EARLY_MS = 100
/** how late the drop may come on a loaded machine */
const LATE_MS = 750
/** bound on any single expected event */
const EVENT_WAIT_MS = 5000
/** serve-then-silent: media for this long first, longer than the timeout (reads keep the leg alive) */
const SERVE_MS = 2 * TIMEOUT_MS + 500
/** after a drop the next attempt comes at once (after media) or after the first back-off (50 ms) */
const RETRY_WITHIN_MS = 1000

/** The log line of a dropped silent origin, for one stream (at info, as every pull line). */
function silenceLine(app: string): RegExp {
  return new RegExp(`\\[info\\] \\d+#0: (?:\\*\\d+ )?pull: closed: origin sent nothing for ${TIMEOUT_MS} ms in state [a-zA-Z]+, app: ${app}, name: s1$`, 'm')
}

/** Waits (bounded) for the log line and shows it in the TAP output. */
async function loggedSilence(t: Test, edge: EdgeProcess, app: string): Promise<void> {
  const re = silenceLine(app)
  await edge.waitForLog(re, EVENT_WAIT_MS)
  t.pass('edge logged the dropped silent origin')
  t.comment(edge.log().split('\n').find((l) => re.test(l)) ?? '')
}

/** `closedAt - silentAt` lies within the read timeout's window. */
function droppedWithinBound(t: Test, silentAt: number, closedAt: number, what: string): void {
  const after = closedAt - silentAt
  t.ok(after >= TIMEOUT_MS - EARLY_MS && after <= TIMEOUT_MS + LATE_MS,
    `${what}: edge closed the connection ${after} ms after the origin fell silent (timeout ${TIMEOUT_MS} ms)`)
}

/** Rethrows an aborted bounded wait as what did not happen. */
function notWithin(what: string, ms: number): (err: unknown) => never {
  return (err) => {
    if ((err as Error).name === 'AbortError') throw new Error(`${what} within ${ms} ms`)
    throw err
  }
}

/** Connection `n` of `origin` once the origin has seen it close, waiting (bounded). */
async function closedConnection(origin: FakeRtmpOrigin, n: number): Promise<OriginConnection> {
  const conn = await origin.connection(n, EVENT_WAIT_MS)
  const limitMs = SERVE_MS + TIMEOUT_MS + EVENT_WAIT_MS
  const signal = AbortSignal.timeout(limitMs)
  while (conn.closedAt === null) await once(origin, 'close', { signal }).catch(notWithin(`edge did not close origin connection ${n}`, limitMs))
  return conn
}

// ---- an HTTP-FLV origin that records when edge closes each connection ----------------------

interface HttpLeg {
  /** when the origin wrote its last byte (or received the request, when it never answers) */
  silentAt: number | null
  closedAt: number | null
}

/** What an HTTP origin writes: `silent()` is called once it has written its last byte. */
type SilentAnswer = (socket: Socket, silent: () => void) => void

/** An HTTP origin answering each request with `write` (then nothing); records closes. */
async function silentHttpOrigin(t: Test, write: SilentAnswer): Promise<{ server: RecordingHttpServer, legs: HttpLeg[], ee: EventEmitter }> {
  const legs: HttpLeg[] = []
  const ee = new EventEmitter()
  const answer: HttpAnswer = (req) => {
    const leg: HttpLeg = { silentAt: null, closedAt: null }
    legs.push(leg)
    write(req.socket, () => { leg.silentAt = Date.now() })
    req.socket.once('close', () => {
      leg.closedAt = Date.now()
      ee.emit('close')
    })
  }
  const server = await RecordingHttpServer.start(answer)
  t.teardown(() => server.stop())
  return { server, legs, ee }
}

async function legClosed(legs: HttpLeg[], ee: EventEmitter, n: number): Promise<HttpLeg> {
  const limitMs = SERVE_MS + TIMEOUT_MS + EVENT_WAIT_MS
  const signal = AbortSignal.timeout(limitMs)
  while (legs[n]?.closedAt == null) await once(ee, 'close', { signal }).catch(notWithin(`edge did not close origin connection ${n}`, limitMs))
  return legs[n]
}

const FLV_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: keep-alive\r\n\r\n'
const FLV_FILE_HEADER = Buffer.from('464c5601050000000900000000', 'hex')

/** 200, the FLV header, `serveMs` of the test media (0: none), then nothing. */
function flvThenSilent(serveMs: number): SilentAnswer {
  return (socket, silent) => {
    socket.write(FLV_HEAD)
    socket.write(FLV_FILE_HEADER)
    if (serveMs === 0) {
      silent()
      return
    }
    const stop = paceMedia((tag, ts) => socket.write(flvTagBytes(tag, ts)))
    socket.once('close', stop)
    setTimeout(() => {
      stop()
      silent()
    }, serveMs)
  }
}

// ---- the edge ------------------------------------------------------------------------------

interface Origins {
  readonly rtmpMedia: FakeRtmpOrigin
  readonly rtmpStart: FakeRtmpOrigin
  readonly rtmpConnect: FakeRtmpOrigin
  readonly httpHead: number
  readonly httpHang: number
  readonly httpMedia: number
}

async function edgeFor(t: Test, o: Origins): Promise<{ edge: EdgeProcess, rtmpPort: number, httpPort: number }> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const app = (name: string, url: string): string =>
    `application ${name} { live on; relay_reconnect ${RELAY_RECONNECT_MS}ms; pull ${url} app=live; }`
  const edge = await startEdge(`events {}
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        timeout ${TIMEOUT_MS}ms;
        ${app('rtmpmedia', `rtmp://127.0.0.1:${o.rtmpMedia.port}`)}
        ${app('rtmpstart', `rtmp://127.0.0.1:${o.rtmpStart.port}`)}
        ${app('rtmpconnect', `rtmp://127.0.0.1:${o.rtmpConnect.port}`)}
        ${app('httphead', `http://127.0.0.1:${o.httpHead}`)}
        ${app('httphang', `http://127.0.0.1:${o.httpHang}`)}
        ${app('httpmedia', `http://127.0.0.1:${o.httpMedia}`)}
    }
}
http { server { listen 127.0.0.1:${httpPort}; location /flv { flv_live 127.0.0.1:${rtmpPort}; } } }
`)
  t.teardown(() => edge.stop())
  return { edge, rtmpPort, httpPort }
}

t.test('a silent origin is dropped after `timeout` and retried; players stay', async (t) => {
  const rtmpMedia = await FakeRtmpOrigin.start({ kind: 'serve-then-silent', afterMs: SERVE_MS })
  t.teardown(() => rtmpMedia.stop())
  const rtmpStart = await FakeRtmpOrigin.start({ kind: 'start-then-silent' })
  t.teardown(() => rtmpStart.stop())
  const rtmpConnect = await FakeRtmpOrigin.start({ kind: 'silent-after-handshake' })
  t.teardown(() => rtmpConnect.stop())
  const httpHead = await silentHttpOrigin(t, flvThenSilent(0))
  const httpHang = await silentHttpOrigin(t, (_socket, silent) => silent())
  const httpMedia = await silentHttpOrigin(t, flvThenSilent(SERVE_MS))
  const { edge, rtmpPort, httpPort } = await edgeFor(t, {
    rtmpMedia, rtmpStart, rtmpConnect, httpHead: httpHead.server.port, httpHang: httpHang.server.port, httpMedia: httpMedia.server.port,
  })

  /** RTMP player R of `app`: still connected, only Play.Start, no error status. */
  function rStays(t: Test, r: Awaited<ReturnType<typeof playerR>>): void {
    t.notOk(r.client.closed, 'player R is still connected')
    t.same(statuses(r.client).map((s) => s.code), ['NetStream.Play.Start'], 'player R got Play.Start and no error status')
  }

  await t.test('RTMP origin: media, then silence while playing', async (t) => {
    const r = await playerR(t, rtmpPort, { app: 'rtmpmedia', name: 's1' })
    const h = await playerH(t, httpPort, { target: '/flv/s1?app=rtmpmedia' })
    const c0 = await closedConnection(rtmpMedia, 0)
    t.ok(c0.silentAt !== null, `the origin served media for ${SERVE_MS} ms (> timeout: reads keep the leg) and then fell silent`)
    droppedWithinBound(t, c0.silentAt ?? NaN, c0.closedAt ?? NaN, 'silent while playing')
    await loggedSilence(t, edge, 'rtmpmedia')
    const c1 = await rtmpMedia.connection(1, EVENT_WAIT_MS)
    t.ok(c1.at - (c0.closedAt ?? NaN) <= RETRY_WITHIN_MS, `edge connected again ${c1.at - (c0.closedAt ?? NaN)} ms after the drop`)
    const before = mediaCount(r.client)
    await r.client.until(() => mediaCount(r.client) > before, EVENT_WAIT_MS, 'media from the second connection')
    t.pass('player R receives media from the new connection')
    rStays(t, r)
    const tagsBefore = h.tags.length
    await h.until(() => h.tags.length > tagsBefore, EVENT_WAIT_MS, 'HTTP-FLV media from the second connection')
    t.equal(h.status, 200, 'player H: 200')
    t.notOk(h.closed, 'player H (headers already sent) is still connected and receives media again')
  })

  await t.test('RTMP origin: Play.Start, then nothing at all', async (t) => {
    const r = await playerR(t, rtmpPort, { app: 'rtmpstart', name: 's1' })
    const c0 = await closedConnection(rtmpStart, 0)
    droppedWithinBound(t, c0.silentAt ?? NaN, c0.closedAt ?? NaN, 'silent after Play.Start')
    await loggedSilence(t, edge, 'rtmpstart')
    const c1 = await rtmpStart.connection(1, EVENT_WAIT_MS)
    t.ok(c1.at - (c0.closedAt ?? NaN) <= RETRY_WITHIN_MS, `edge connected again ${c1.at - (c0.closedAt ?? NaN)} ms after the drop`)
    await rtmpStart.command(c1, 'play')
    t.pass('and played again')
    rStays(t, r)
  })

  await t.test('RTMP origin: handshake, then connect never answered', async (t) => {
    const r = await playerR(t, rtmpPort, { app: 'rtmpconnect', name: 's1' })
    const c0 = await closedConnection(rtmpConnect, 0)
    droppedWithinBound(t, c0.silentAt ?? NaN, c0.closedAt ?? NaN, 'silent after the handshake')
    await loggedSilence(t, edge, 'rtmpconnect')
    const c1 = await rtmpConnect.connection(1, EVENT_WAIT_MS)
    t.ok(c1.at - (c0.closedAt ?? NaN) <= RETRY_WITHIN_MS, `edge connected again ${c1.at - (c0.closedAt ?? NaN)} ms after the drop`)
    rStays(t, r)
  })

  const httpCases = [
    ['HTTP-FLV origin: 200 and the FLV header, then nothing', 'httphead', httpHead],
    ['HTTP-FLV origin: accepts TCP, never answers the request', 'httphang', httpHang],
    ['HTTP-FLV origin: media, then silence', 'httpmedia', httpMedia],
  ] as const
  for (const [label, app, origin] of httpCases) {
    await t.test(label, async (t) => {
      const r = await playerR(t, rtmpPort, { app, name: 's1' })
      const leg0 = await legClosed(origin.legs, origin.ee, 0)
      t.ok(leg0.silentAt !== null, 'the origin fell silent before the close')
      droppedWithinBound(t, leg0.silentAt ?? NaN, leg0.closedAt ?? NaN, label)
      await loggedSilence(t, edge, app)
      const second = await origin.server.request(1, EVENT_WAIT_MS)
      t.ok(second.at - (leg0.closedAt ?? NaN) <= RETRY_WITHIN_MS, `edge asked again ${second.at - (leg0.closedAt ?? NaN)} ms after the drop`)
      t.equal(second.line, 'GET /live/s1 HTTP/1.1', 'the same request')
      rStays(t, r)
    })
  }
})
