// Static pull against instrumented origins: pingos-behaviour.md §2 and §13 scenarios 8–12 and
// 16–18 (ports picked at run time), pingos-observed.md §2–§6. Each scenario runs its own edge
// (base config B plus the scenario's lines) and its own origin; what is asserted is what the
// origin receives and what the players see on the wire.
import { once } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import {
  commandObject, FakeRtmpOrigin, RecordingHttpServer, reply, serveFlv, type OriginConnection, type RecordedRequest,
} from '../helpers/origins.js'
import {
  ffprobeStreams, H264_AAC, isAvcKeyframe, isKeyframeMessage, isUserControl, nextStatus, playerH, playerR, PLAYER_R_FLASHVER,
  quietFor, startEdgeB, statusInfo,
} from '../helpers/pull-scenarios.js'
import type { RawHttpClient } from '../helpers/raw-http.js'

/** bound on every wait for media or a status */
const MEDIA_WAIT_MS = 10_000
/** §13 scenario 11: the origin connection is gone this soon after the last player left */
const STOP_WITHIN_MS = 100
/** scenario 11 asks for 10 s without a new connection; 3 s keeps the suite short (a retrying pull would reconnect within 50 ms) */
const QUIET_MS = 3000
/** §13 scenario 12: the reconnect after origin EOF starts within this */
const RECONNECT_WITHIN_MS = 50
/** serve-then-close: the origin ends the stream this long after Play.Start */
const SERVE_MS = 2500
/** after a player was refused, no further origin request arrives in this window (no retry) */
const NO_RETRY_WINDOW_MS = 1000
/** a closed player's teardown of the pull is observable within this */
const CLOSE_WAIT_MS = 2000

/** RFC 1123 date as nginx writes it: `Mon, 23 Nov 2026 20:51:43 GMT` */
const RFC1123 = /^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

/** The origin connection's commands and user control events, in arrival order. */
function recordSequence(origin: FakeRtmpOrigin): Map<OriginConnection, string[]> {
  const seq = new Map<OriginConnection, string[]>()
  const of = (c: OriginConnection): string[] => seq.get(c) ?? (seq.set(c, []).get(c) as string[])
  origin.on('command', (c: OriginConnection, cmd: { name: string }) => of(c).push(cmd.name))
  origin.on('user-control', (c: OriginConnection, payload: Buffer) => of(c).push(`user-control ${payload.toString('hex')}`))
  return seq
}

/** Wait (bounded) until `conn` is closed. */
async function closed(origin: FakeRtmpOrigin, conn: OriginConnection, timeoutMs: number): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs)
  while (conn.closedAt === null) await once(origin, 'close', { signal })
  return conn.closedAt
}

/** Player H has received an AVC keyframe tag. */
const hHasKeyframe = (h: RawHttpClient): boolean => h.tags.some((tag) => tag.typeId === MSG_VIDEO && isAvcKeyframe(tag.payload))

t.test('scenario 8: RTMP pull wire format', async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => origin.stop())
  const seq = recordSequence(origin)
  const uc = once(origin, 'user-control', { signal: AbortSignal.timeout(MEDIA_WAIT_MS) })
  const { edge, rtmpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live;`)

  const r = await playerR(t, rtmpPort, { app: 'e1', name: 'cam1?tok=abc' })
  t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'player R gets Play.Start at once')
  const conn = await origin.connection(0)
  const [, ucPayload] = await uc as [OriginConnection, Buffer]

  const connect = await origin.command(conn, 'connect')
  const obj = commandObject(connect)
  t.equal(connect.transactionId, 1, 'connect is transaction 1')
  t.same(Object.keys(obj), ['app', 'tcUrl', 'pageUrl', 'swfUrl', 'flashVer', 'audioCodecs', 'videoCodecs'],
    'connect object fields in PingOS order, no fpad/capabilities/objectEncoding')
  t.equal(obj.app, 'live', 'app from app=')
  t.equal(obj.tcUrl, 'rtmp://127.0.0.1/live', 'tcUrl: the player\'s domain, no port')
  t.equal(obj.flashVer, PLAYER_R_FLASHVER, 'flashVer of the player')
  t.equal(obj.pageUrl, '', 'no pageUrl')
  t.equal(obj.swfUrl, '', 'no swfUrl')
  t.equal(obj.audioCodecs, 3575, 'player sent no audioCodecs: 3575')
  t.equal(obj.videoCodecs, 252, 'player sent no videoCodecs: 252')

  const play = await origin.command(conn, 'play')
  t.equal(play.transactionId, 0, 'play is transaction 0')
  t.equal(play.object, null, 'play command object is null')
  t.same(play.args, ['cam1?tok=abc', -1000, -1000], 'play(name?pargs, -1000, -1000)')
  t.equal(ucPayload.toString('hex'), '0003' + '00000001' + '00001388', 'SetBufferLength(stream 1, 5000 ms)')
  t.same(seq.get(conn), ['connect', 'createStream', 'play', 'user-control 00030000000100001388'],
    'connect, createStream, play, then SetBufferLength right after play')

  // Play.Start from the origin and media: the player decodes video
  await r.client.next(isKeyframeMessage, MEDIA_WAIT_MS)
  t.pass('player R received an AVC keyframe')
  t.ok(r.client.messages.some((m) => isUserControl(m, 0)), 'player R got StreamBegin(1) before media')
  t.same(await ffprobeStreams(`rtmp://127.0.0.1:${rtmpPort}/e1/cam1?tok=abc`), H264_AAC, 'ffprobe on the edge decodes h264 + aac')
  t.equal(origin.connections.length, 1, 'ffprobe joined the same pull')
  t.match(edge.log(), /pull: rtmp:\/\/127\.0\.0\.1:\d+ app='live' name='cam1' args='tok=abc' domain='127\.0\.0\.1'/, 'edge logs the attempt')
})

t.test('scenario 9: connect args and domain=', async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => origin.stop())
  const { rtmpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} domain=core.example.com app=live;`)

  const r = await playerR(t, rtmpPort, { app: 'e1?k=v', name: 'cam1?tok=abc', tcUrl: `rtmp://127.0.0.1:${rtmpPort}/e1?k=v` })
  t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'player R gets Play.Start')
  const conn = await origin.connection(0)
  const obj = commandObject(await origin.command(conn, 'connect'))
  t.equal(obj.app, 'live?k=v', 'the player\'s connect args follow the pull app')
  t.equal(obj.tcUrl, 'rtmp://core.example.com/live', 'tcUrl host is domain=, no port, no args')
  t.equal(conn.socket.localAddress, '127.0.0.1', 'the TCP connection still went to the pull URL host (127.0.0.1)')
  t.same((await origin.command(conn, 'play')).args, ['cam1?tok=abc', -1000, -1000], 'play name and args as the player\'s')
  await r.client.next(isKeyframeMessage, MEDIA_WAIT_MS)
  t.pass('media flows')
})

t.test('scenario 10: one pull shared by two RTMP players and one HTTP-FLV player', async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => origin.stop())
  const { rtmpPort, httpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live;`)

  const r1 = await playerR(t, rtmpPort)
  const conn = await origin.connection(0)
  // the second R player and H arrive while the pull is connecting or already playing
  const r2 = await playerR(t, rtmpPort)
  const h = await playerH(t, httpPort)
  await Promise.all([
    r1.client.next(isKeyframeMessage, MEDIA_WAIT_MS),
    r2.client.next(isKeyframeMessage, MEDIA_WAIT_MS),
    h.until(() => hHasKeyframe(h), MEDIA_WAIT_MS, 'a keyframe at player H'),
  ])
  t.pass('all three players received an AVC keyframe')
  t.equal(h.status, 200, 'player H: 200')
  t.equal(h.bodyError, null, 'player H: clean FLV')
  t.equal(origin.connections.length, 1, 'the origin saw exactly one connection')
  t.equal(conn.commands.filter((c) => c.name === 'play').length, 1, 'and exactly one play')
  t.same((await origin.command(conn, 'play')).args, ['cam1?tok=abc', -1000, -1000], 'the play of the first player')
})

t.test('scenario 11: the pull stops when the last player leaves', async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => origin.stop())
  const { rtmpPort, httpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live;`)

  const r = await playerR(t, rtmpPort)
  const h = await playerH(t, httpPort)
  await Promise.all([
    r.client.next(isKeyframeMessage, MEDIA_WAIT_MS),
    h.until(() => hHasKeyframe(h), MEDIA_WAIT_MS, 'a keyframe at player H'),
  ])
  const conn = await origin.connection(0)

  // the RTMP player leaves first: the pull stays for H
  await r.client.close()
  const bytesBefore = h.body.length
  await h.until(() => h.body.length > bytesBefore, MEDIA_WAIT_MS, 'more media at H after R left')
  t.equal(conn.closedAt, null, 'the pull survives the first player leaving')

  // the last player leaves
  const leftAt = Date.now()
  await h.close()
  const closedAt = await closed(origin, conn, CLOSE_WAIT_MS)
  t.ok(closedAt - leftAt <= STOP_WITHIN_MS, `origin connection closed ${closedAt - leftAt} ms after the last player left (≤ ${STOP_WITHIN_MS})`)

  // "nothing happens" is the assertion: a bounded wait that ends early if something does
  t.ok(await quietFor(origin, 'connection', QUIET_MS), `no further origin connection during ${QUIET_MS} ms`)
  t.equal(origin.connections.length, 1, 'one origin connection in all')
})

t.test('scenario 12: reconnect after origin EOF', async (t) => {
  t.test('idle_streams on: the player stays, StreamEOF then StreamBegin', async (t) => {
    const origin = await FakeRtmpOrigin.start({ kind: 'serve-then-close', afterMs: SERVE_MS })
    t.teardown(() => origin.stop())
    const { rtmpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live;`)

    const r = await playerR(t, rtmpPort)
    await r.client.next(isKeyframeMessage, MEDIA_WAIT_MS)
    const first = await origin.connection(0)
    // the next connection serves for good
    origin.mode = { kind: 'serve' }
    const eofAt = await closed(origin, first, SERVE_MS + MEDIA_WAIT_MS)
    const second = await origin.connection(1, MEDIA_WAIT_MS)
    t.ok(second.at - eofAt <= RECONNECT_WITHIN_MS,
      `new origin connection ${second.at - eofAt} ms after the origin closed (≤ ${RECONNECT_WITHIN_MS})`)
    t.same((await origin.command(second, 'play')).args, ['cam1?tok=abc', -1000, -1000], 'the same play again')

    const eofMsg = await r.client.next((m) => isUserControl(m, 1), MEDIA_WAIT_MS)
    const iEof = r.client.messages.indexOf(eofMsg)
    t.ok(r.client.messages.slice(0, iEof).some(isKeyframeMessage), 'StreamEOF(1) comes after the first media')
    const begin = await r.client.next((m) => isUserControl(m, 0), MEDIA_WAIT_MS, iEof + 1)
    const iBegin = r.client.messages.indexOf(begin)
    await r.client.next(isKeyframeMessage, MEDIA_WAIT_MS, iBegin + 1)
    t.pass('StreamEOF(1), then StreamBegin(1), then a keyframe again')
    t.notOk(r.client.messages.slice(iEof + 1, iBegin).some((m) => m.typeId === MSG_VIDEO),
      'no video between StreamEOF and StreamBegin')
    t.notOk(r.client.closed, 'player R is still connected')
    t.equal(origin.connections.length, 2, 'one reconnect')
  })

  t.test('idle_streams off: the player is disconnected instead', async (t) => {
    const origin = await FakeRtmpOrigin.start({ kind: 'serve-then-close', afterMs: SERVE_MS })
    t.teardown(() => origin.stop())
    const { rtmpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live; idle_streams off;`)

    const r = await playerR(t, rtmpPort)
    t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'the pending pull counts as a publisher: Play.Start')
    await r.client.next(isKeyframeMessage, MEDIA_WAIT_MS)
    const first = await origin.connection(0)
    origin.mode = { kind: 'serve' }
    const eofAt = await closed(origin, first, SERVE_MS + MEDIA_WAIT_MS)
    await r.client.until(() => r.client.closed, CLOSE_WAIT_MS, 'player R to be disconnected')
    t.pass('player R is disconnected after the origin EOF')
    t.ok(r.client.messages.some((m) => isUserControl(m, 1)), 'it got StreamEOF(1) before the close')
    t.notOk(r.client.messages.some((m, i) => i > 0 && isUserControl(m, 0) && r.client.messages.slice(0, i).some((x) => isUserControl(x, 1))),
      'no StreamBegin after the StreamEOF')
    // a reconnect leg started in the same instant is torn down at once
    for (const c of origin.connections.slice(1)) {
      const at = await closed(origin, c, CLOSE_WAIT_MS)
      t.ok(at - eofAt <= STOP_WITHIN_MS, `a reconnect leg is closed ${at - eofAt} ms after the EOF`)
    }
    await delay(NO_RETRY_WINDOW_MS)
    t.ok(origin.connections.length <= 2, `no retries after the player left (${origin.connections.length} connections)`)
    t.ok(origin.connections.every((c) => c.closedAt !== null), 'no origin connection remains')
  })
})

t.test('scenario 16: HTTP-FLV origin request', async (t) => {
  t.test('triggered by RTMP player R with tcUrl host edge.test', async (t) => {
    const origin = await RecordingHttpServer.start(serveFlv)
    t.teardown(() => origin.stop())
    const { rtmpPort } = await startEdgeB(t, `pull http://127.0.0.1:${origin.port} app=live;`)

    const r = await playerR(t, rtmpPort, { app: 'x', name: 'cam1?tok=1', tcUrl: `rtmp://edge.test:${rtmpPort}/x` })
    const req: RecordedRequest = await origin.request(0)
    t.equal(req.line, 'GET /live/cam1?tok=1 HTTP/1.1', 'request line: /<app>/<name>?<pargs>, no .flv')
    t.equal(req.headers.length, 4, `four header lines: ${JSON.stringify(req.headers)}`)
    t.equal(req.headers[0], 'Host: edge.test', 'Host: the player\'s domain without port')
    t.equal(req.headers[1], `User-Agent: ${PLAYER_R_FLASHVER}`, 'User-Agent: the player\'s flashVer')
    t.equal(req.headers[2], 'Accept: */*', 'Accept: */*')
    t.match(req.headers[3], RFC1123, 'an RFC 1123 Date')
    t.notOk(req.headers.some((h) => /^referer:/i.test(h)), 'no Referer')
    t.notOk(req.headers.some((h) => /^connection:/i.test(h)), 'no Connection')
    await r.client.next(isKeyframeMessage, MEDIA_WAIT_MS)
    t.pass('media from the HTTP-FLV origin reaches player R')
  })

  t.test('triggered by HTTP-FLV player H with a Referer', async (t) => {
    const origin = await RecordingHttpServer.start(serveFlv)
    t.teardown(() => origin.stop())
    const { httpPort } = await startEdgeB(t, `pull http://127.0.0.1:${origin.port} app=live;`)

    const h = await playerH(t, httpPort, { headers: ['Referer: http://page/', 'User-Agent: test-player/1.0'] })
    const req = await origin.request(0)
    t.equal(req.line, 'GET /live/cam1?app=live&tok=abc HTTP/1.1', 'request line carries H\'s whole query')
    t.equal(req.headers.length, 4, `four header lines: ${JSON.stringify(req.headers)}`)
    t.equal(req.headers[0], 'Host: 127.0.0.1', 'Host: the player\'s Host without port')
    t.equal(req.headers[1], 'Accept: */*', 'Accept: */*')
    t.match(req.headers[2], RFC1123, 'an RFC 1123 Date')
    t.equal(req.headers[3], 'Referer: http://page/', 'Referer: the player\'s')
    t.notOk(req.headers.some((x) => /^user-agent:/i.test(x)), 'no User-Agent (H\'s is not forwarded, nginx\'s default removed)')
    t.notOk(req.headers.some((x) => /^connection:/i.test(x)), 'no Connection')
    await h.until(() => hHasKeyframe(h), MEDIA_WAIT_MS, 'a keyframe at player H')
    t.equal(h.status, 200, 'player H: 200 with media')
  })
})

/**
 * Player R of a pull whose origin refuses the stream: Play.Start first (the pull is pending),
 * then onStatus {error, NetStream.Play.StreamNotFound, `description`}, then it is closed.
 */
async function playerRNotFound(t: Test, rtmpPort: number, description: string): Promise<void> {
  const r = await playerR(t, rtmpPort)
  t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'player R first gets Play.Start (pull pending)')
  const notFound = await nextStatus(r.client, 'NetStream.Play.StreamNotFound', MEDIA_WAIT_MS)
  t.equal(notFound.values?.[0], 'onStatus', 'as onStatus')
  t.same(statusInfo(notFound), { level: 'error', code: 'NetStream.Play.StreamNotFound', description },
    `onStatus {error, NetStream.Play.StreamNotFound, "${description}"}`)
  await r.client.until(() => r.client.closed, CLOSE_WAIT_MS, 'player R to be closed')
  t.pass('then player R is closed')
}

t.test('scenario 17: HTTP origin 404', async (t) => {
  const origin = await RecordingHttpServer.start(reply(404))
  t.teardown(() => origin.stop())
  const { rtmpPort, httpPort } = await startEdgeB(t, `pull http://127.0.0.1:${origin.port} app=live;`)

  // player R alone; "No such stream" is a compat fix: PingOS sent no onStatus
  await playerRNotFound(t, rtmpPort, 'No such stream')
  t.equal((await origin.request(0)).line, 'GET /live/cam1?tok=abc HTTP/1.1', 'R\'s play: one request')
  t.ok(await quietFor(origin, 'request', NO_RETRY_WINDOW_MS), `no retry after the 404 within ${NO_RETRY_WINDOW_MS} ms`)
  t.equal(origin.requests.length, 1, 'one request in all')

  // then player H alone: a new pull, one more request
  const h = await playerH(t, httpPort)
  await h.waitHead(MEDIA_WAIT_MS)
  t.equal(h.status, 404, 'player H gets 404')
  t.equal((await origin.request(1)).line, 'GET /live/cam1?app=live&tok=abc HTTP/1.1', 'H\'s play: one request')
  t.ok(await quietFor(origin, 'request', NO_RETRY_WINDOW_MS), `no retry after H's 404 within ${NO_RETRY_WINDOW_MS} ms`)
  t.equal(origin.requests.length, 2, 'the origin saw exactly one request per play (2 in all), no retries')
})

t.test('scenario 18: RTMP origin error forwarded', async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'status', level: 'error', code: 'NetStream.Play.StreamNotFound', description: 'gone' })
  t.teardown(() => origin.stop())
  const { rtmpPort, httpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live;`)

  // the origin's level, code and description, as it sent them
  await playerRNotFound(t, rtmpPort, 'gone')

  const h = await playerH(t, httpPort)
  await h.waitHead(MEDIA_WAIT_MS)
  t.equal(h.status, 404, 'player H gets 404')
  t.equal(origin.connections.length, 2, 'one origin connection per play')
})
