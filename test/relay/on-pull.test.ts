// on_pull against a real edge process (issue 4; pingos-behaviour.md §3, §13 scenarios 19–25;
// pingos-observed.md §7). Each subtest starts its own edge on base config B, its own notify
// server (which records every request line and header line with its arrival time) and its own
// origins, and asserts what the notify server, the origins and the players see on the wire.
//
// Where edge deliberately differs from PingOS (../shared/spec/README.md, docs/compat.md) the
// test asserts edge's behaviour:
//   - RTMP players refused by on_pull 4xx/5xx get onStatus StreamNotFound before the close
//     (PingOS: bare close);
//   - a notify URL without a path works (`GET /?call=...`; PingOS: never sent);
//   - a host name in `Location` is resolved (PingOS: never resolved).
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { commandObject, FakeRtmpOrigin, hang, RecordingHttpServer, reply, serveFlv } from '../helpers/origins.js'
import {
  actOf, mediaCount, onPullLine, playerH, playerR, quietFor, requestWhere, startEdgeB, statuses, statusInfo,
} from '../helpers/pull-scenarios.js'

/** the on_pull `update=2s` of scenario 19 */
const UPDATE_MS = 2000
/** tolerance the brief gives the update period */
const UPDATE_TOLERANCE_MS = 100
/** the notify `timeout=` default (3 s) and relay_reconnect (3 s): the re-ask period of scenario 24 */
const REASK_MS = 3000
const REASK_TOLERANCE_MS = 150
/** B's server `timeout 5s`: an HTTP-FLV player with no data gets 503 then */
const FLV_TIMEOUT_MS = 5000
/** how far past `timeout` the 503 may come (timer + loopback) */
const FLV_TIMEOUT_LATE_MS = 250
/** how long "no further request" / "no origin contact" is watched */
const QUIET_MS = 2000
/** §2.4 / scenario 11: the origin connection closes this soon after the last player left */
const STOP_WITHIN_MS = 100
/** observed act=done 2–4 ms after the player's close; bound with slack for a loaded machine */
const DONE_WITHIN_MS = 500
/** how long the first of two players leaving is watched for a (wrong) act=done */
const FIRST_LEAVER_WATCH_MS = 500
/** bound on media reaching a player through a fresh pull */
const MEDIA_WAIT_MS = 8000

const PLAYER_R_QUERY_TAIL = 'domain=127.0.0.1&app=live&name=cam1&clientid=0&sid=edge&sch=rtmp&ip=&tok=abc'
const PLAYER_H_QUERY_TAIL = 'domain=127.0.0.1&app=live&name=cam1&clientid=0&sid=edge&sch=http&ip=&app=live&tok=abc'
const RFC1123_DATE = /^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

async function notifyServer(t: Test, answer: Parameters<typeof RecordingHttpServer.start>[0]): Promise<RecordingHttpServer> {
  const s = await RecordingHttpServer.start(answer)
  t.teardown(() => s.stop())
  return s
}

async function rtmpOrigin(t: Test, mode: Parameters<typeof FakeRtmpOrigin.start>[0] = { kind: 'serve' }): Promise<FakeRtmpOrigin> {
  const o = await FakeRtmpOrigin.start(mode)
  t.teardown(() => o.stop())
  return o
}

/** The notify request head as PingOS sends it (§3.3, observed §7.1): exactly these four headers. */
function checkNotifyHead(t: Test, headers: readonly string[], who: string): void {
  t.same(headers.slice(0, 3), ['Host: 127.0.0.1', 'User-Agent: nginx/1.17.5', 'Accept: */*'], `${who}: Host without port, User-Agent, Accept, in order`)
  t.match(headers[3] ?? '', RFC1123_DATE, `${who}: an RFC 1123 Date header`)
  t.equal(headers.length, 4, `${who}: no other header (no Connection)`)
  t.notOk(headers.some((h) => /^connection:/i.test(h)), `${who}: no Connection header`)
}

t.test('19: the on_pull request, byte for byte, for player R and player H', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const { rtmpPort, httpPort } = await startEdgeB(t, onPullLine(notify.port))

  const r = await playerR(t, rtmpPort)
  t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'player R gets Play.Start while the pull is asked for')
  const rStart = await requestWhere(notify, (q) => actOf(q) === 'start', 0)
  t.equal(rStart.line, `GET /n?k=v&call=pull&act=start&${PLAYER_R_QUERY_TAIL} HTTP/1.1`, 'player R: the request line')
  checkNotifyHead(t, rStart.headers, 'player R')
  // 200 = nothing to pull: the leg is gone, so player H's play on the same key asks again
  await requestWhere(notify, (q) => actOf(q) === 'done', 0)

  const h = await playerH(t, httpPort)
  const hStart = await requestWhere(notify, (q) => actOf(q) === 'start', 1)
  t.equal(hStart.line, `GET /n?k=v&call=pull&act=start&${PLAYER_H_QUERY_TAIL} HTTP/1.1`, 'player H: the request line')
  checkNotifyHead(t, hStart.headers, 'player H')
  t.notOk(h.closed, 'player H waits (200: nothing to pull)')
})

t.test('20: 302 to an RTMP origin with Domain: origin request, media, updates every 2 s, done and stop', async (t) => {
  const origin = await rtmpOrigin(t)
  const notify = await notifyServer(t, reply(302, { Location: `rtmp://127.0.0.1:${origin.port}/oapp/cam9?sig=1`, Domain: 'core.example.com' }))
  const { rtmpPort } = await startEdgeB(t, onPullLine(notify.port))

  const r = await playerR(t, rtmpPort)
  t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'player R: Play.Start while the pull starts')
  const start = await requestWhere(notify, (q) => actOf(q) === 'start', 0)
  t.equal(start.line, `GET /n?k=v&call=pull&act=start&${PLAYER_R_QUERY_TAIL} HTTP/1.1`, 'act=start as in scenario 19')

  const conn = await origin.connection(0)
  const connect = await origin.command(conn, 'connect')
  t.equal(commandObject(connect).app, 'oapp', 'origin: connect app "oapp" (from Location)')
  t.equal(commandObject(connect).tcUrl, 'rtmp://core.example.com/oapp', 'origin: tcUrl from the Domain header, no port')
  const play = await origin.command(conn, 'play')
  t.equal(play.args[0], 'cam9?sig=1', 'origin: play name and query from Location')

  await r.client.until(() => r.client.messages.some((m) => m.typeId === MSG_VIDEO), MEDIA_WAIT_MS, 'video through the pull')
  t.pass('player R receives video')

  const u0 = await requestWhere(notify, (q) => actOf(q) === 'update', 0, UPDATE_MS + 2000)
  const u1 = await requestWhere(notify, (q) => actOf(q) === 'update', 1, UPDATE_MS + 2000)
  for (const u of [u0, u1]) t.equal(u.line, start.line.replace('&act=start&', '&act=update&'), 'update: same parameters as start')
  const first = u0.at - start.at
  const second = u1.at - u0.at
  t.ok(Math.abs(first - UPDATE_MS) <= UPDATE_TOLERANCE_MS, `first update ${first} ms after start (2000 ± 100)`)
  t.ok(Math.abs(second - UPDATE_MS) <= UPDATE_TOLERANCE_MS, `second update ${second} ms after the first (2000 ± 100)`)
  t.equal(notify.requests.filter((q) => actOf(q) === 'done').length, 0, 'no done while the player plays')

  const closedAt = Date.now()
  const originClosed = conn.closedAt === null ? once(origin, 'close', { signal: AbortSignal.timeout(2000) }) : Promise.resolve()
  await r.client.close()
  const done = await requestWhere(notify, (q) => actOf(q) === 'done', 0, DONE_WITHIN_MS + 1000)
  t.equal(done.line, start.line.replace('&act=start&', '&act=done&'), 'done: same parameters as start')
  await originClosed
  t.ok(conn.closedAt !== null && conn.closedAt - closedAt <= STOP_WITHIN_MS,
    `the origin connection closed ${(conn.closedAt ?? NaN) - closedAt} ms after the player left (≤ ${STOP_WITHIN_MS})`)
  t.equal(origin.connections.length, 1, 'one origin connection in all')
})

t.test('21: 302 to an HTTP-FLV origin without a query keeps the player\'s pargs', async (t) => {
  const flv = await notifyServer(t, serveFlv)
  const notify = await notifyServer(t, reply(302, { Location: `http://127.0.0.1:${flv.port}/a/b/c.flv` }))
  const { rtmpPort } = await startEdgeB(t, onPullLine(notify.port))

  const r = await playerR(t, rtmpPort)
  const req = await flv.request(0)
  t.equal(req.line, 'GET /a/b/c.flv?tok=abc HTTP/1.1', 'the origin request line: Location path + player query')
  // header order is not asserted: spec §2.3 and observed §3 list these headers in different orders
  const names = req.headers.map((h) => h.slice(0, h.indexOf(':')).toLowerCase()).sort()
  t.same(names, ['accept', 'date', 'host', 'user-agent'], 'Host, User-Agent, Accept, Date; no Referer, no Connection')
  t.ok(req.headers.includes('Host: 127.0.0.1'), 'Host is the player\'s domain without port, not the Location host:port')
  t.ok(req.headers.includes('User-Agent: LNX 9,0,124,2'), 'User-Agent is player R\'s flashVer')
  t.ok(req.headers.includes('Accept: */*'), 'Accept: */*')
  t.ok(req.headers.some((h) => RFC1123_DATE.test(h)), 'an RFC 1123 Date header')
  await r.client.until(() => r.client.messages.some((m) => m.typeId === MSG_VIDEO), MEDIA_WAIT_MS, 'video through the HTTP-FLV pull')
  t.pass('player R receives video')
})

t.test('22: 200 = nothing to pull; players wait; act=start then act=done; a later player asks again', async (t) => {
  const origin = await rtmpOrigin(t)
  // a Location on a 200 must not be followed either: 200 alone decides
  const notify = await notifyServer(t, reply(200, { Location: `rtmp://127.0.0.1:${origin.port}/live/cam1` }))
  const { rtmpPort, httpPort } = await startEdgeB(t, onPullLine(notify.port))

  const r = await playerR(t, rtmpPort)
  t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'player R: Play.Start')
  await requestWhere(notify, (q) => actOf(q) === 'done', 0)
  t.same(notify.requests.map(actOf), ['start', 'done'], 'notify: act=start then act=done')

  const h = await playerH(t, httpPort)
  await requestWhere(notify, (q) => actOf(q) === 'start', 1)
  t.pass('the new player (H) causes a new act=start')
  await h.waitHead(FLV_TIMEOUT_MS + 2000)
  t.equal(h.status, 503, 'player H: 503')
  const at = h.firstByteMs ?? NaN
  t.ok(at >= FLV_TIMEOUT_MS - 50 && at <= FLV_TIMEOUT_MS + FLV_TIMEOUT_LATE_MS, `player H: first byte (the 503) at ${Math.round(at)} ms (5000)`)

  t.notOk(r.client.closed, 'player R is still connected after H\'s 503')
  t.same(statuses(r.client).map((s) => s.code), ['NetStream.Play.Start'], 'player R: no other onStatus')
  t.equal(mediaCount(r.client), 0, 'player R: no media')
  t.same(notify.requests.map(actOf), ['start', 'done', 'start', 'done'], 'notify: start, done for each asking player')
  t.equal(origin.connections.length, 0, 'the origin was never contacted')
})

for (const status of [403, 500]) {
  t.test(`23: ${status} refuses the players; no origin contact, no more requests`, async (t) => {
    const origin = await rtmpOrigin(t)
    const notify = await notifyServer(t, reply(status, { Location: `rtmp://127.0.0.1:${origin.port}/live/cam1` }))
    const { rtmpPort, httpPort } = await startEdgeB(t, onPullLine(notify.port))

    const r = await playerR(t, rtmpPort)
    t.equal(statusInfo(r.firstStatus).code, 'NetStream.Play.Start', 'player R: Play.Start first (sent before on_pull answers)')
    await r.client.until(() => r.client.closed, 5000, 'player R to be closed')
    t.same(statuses(r.client), [
      { level: 'status', code: 'NetStream.Play.Start', description: 'Start live' },
      { level: 'error', code: 'NetStream.Play.StreamNotFound', description: 'No such stream' },
    ], 'player R: StreamNotFound before the close (compat fix; PingOS closes bare)')
    t.equal(mediaCount(r.client), 0, 'player R: no media')

    const h = await playerH(t, httpPort)
    await h.waitHead()
    t.equal(h.status, 404, 'player H: 404 (observed §1.2: nginx\'s page, the connection kept alive)')

    // each refused attempt still sends its act=done (§3.5); wait for H's, then watch for more
    await requestWhere(notify, (q) => actOf(q) === 'done', 1)
    const before = notify.requests.length
    t.ok(await quietFor(notify, 'request', QUIET_MS), `no further on_pull request within ${QUIET_MS} ms`)
    t.equal(notify.requests.length, before)
    t.same(notify.requests.map(actOf), ['start', 'done', 'start', 'done'], 'notify: start (and done) once per refused player')
    t.equal(origin.connections.length, 0, 'the origin was never contacted')
  })
}

t.test('24: a notify server that never answers is re-asked every 3 s; the player waits', async (t) => {
  const notify = await notifyServer(t, hang)
  const { rtmpPort } = await startEdgeB(t, onPullLine(notify.port))

  const r = await playerR(t, rtmpPort)
  const starts = [0, 1, 2]
  for (const n of starts) await requestWhere(notify, (q) => actOf(q) === 'start', n, REASK_MS + 2000)
  const all = notify.requests
  const startAt = all.filter((q) => actOf(q) === 'start').map((q) => q.at)
  for (let i = 1; i < startAt.length; i++) {
    const d = startAt[i] - startAt[i - 1]
    t.ok(Math.abs(d - REASK_MS) <= REASK_TOLERANCE_MS, `start #${i} ${d} ms after the previous one (3000 ± 150)`)
  }
  // stage has done: each attempt's act=done comes right before the next act=start
  const acts = all.map(actOf)
  t.same(acts.slice(0, 5), ['start', 'done', 'start', 'done', 'start'], 'done right before each new start')
  for (let i = 1; i < 5; i += 2) {
    const gap = all[i + 1].at - all[i].at
    t.ok(gap >= 0 && gap <= 50, `done → next start: ${gap} ms`)
  }
  t.notOk(r.client.closed, 'player R keeps waiting')
  t.same(statuses(r.client).map((s) => s.code), ['NetStream.Play.Start'], 'player R: only Play.Start')
})

t.test('25: on_pull beats pull: with on_pull answering 200 the pull origin is never contacted', async (t) => {
  const origin = await rtmpOrigin(t)
  const notify = await notifyServer(t, reply(200))
  const { rtmpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${origin.port} app=live;\n${onPullLine(notify.port)}`)

  const r = await playerR(t, rtmpPort)
  await requestWhere(notify, (q) => actOf(q) === 'done', 0)
  t.ok(await quietFor(origin, 'connection', QUIET_MS), `no origin connection within ${QUIET_MS} ms of the 200`)
  t.equal(origin.connections.length, 0, 'the pull origin was never contacted')
  t.notOk(r.client.closed, 'the player waits')
})

t.test('the last player\'s departure: act=done comes after the player closed; the first leaving sends none', async (t) => {
  const origin = await rtmpOrigin(t)
  const notify = await notifyServer(t, reply(302, { Location: `rtmp://127.0.0.1:${origin.port}/live/cam1` }))
  const { rtmpPort, httpPort } = await startEdgeB(t, onPullLine(notify.port))

  const r = await playerR(t, rtmpPort)
  const h = await playerH(t, httpPort)
  await r.client.until(() => mediaCount(r.client) > 0, MEDIA_WAIT_MS, 'media to R')
  await h.until(() => h.tags.length > 0, MEDIA_WAIT_MS, 'media to H')
  t.equal(notify.requests.filter((q) => actOf(q) === 'start').length, 1, 'one on_pull for two players')
  t.equal(origin.connections.length, 1, 'one origin connection for two players')

  await h.close()
  const doneEarly = await requestWhere(notify, (q) => actOf(q) === 'done', 0, FIRST_LEAVER_WATCH_MS).then(() => true, () => false)
  t.notOk(doneEarly, `no act=done within ${FIRST_LEAVER_WATCH_MS} ms of the first player leaving (R remains)`)
  t.equal(origin.connections[0].closedAt, null, 'the origin connection stays for R')

  const conn = origin.connections[0]
  await r.client.close()
  const closedAt = Date.now()
  const done = await requestWhere(notify, (q) => actOf(q) === 'done', 0, DONE_WITHIN_MS)
  t.ok(done.at >= closedAt - 5, `call=pull&act=done arrived ${done.at - closedAt} ms after the last player closed`)
  t.match(done.line, /^GET \/n\?k=v&call=pull&act=done&/, 'it is call=pull&act=done')
  if (conn.closedAt === null) await once(origin, 'close', { signal: AbortSignal.timeout(STOP_WITHIN_MS + 1000) })
  t.ok((conn.closedAt ?? Infinity) - closedAt <= STOP_WITHIN_MS, `origin connection closed ${(conn.closedAt ?? NaN) - closedAt} ms after`)
})

t.test('a notify URL without a path works (compat fix): GET /?call=pull&act=start...', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const { rtmpPort } = await startEdgeB(t, onPullLine(notify.port, ''))
  await playerR(t, rtmpPort)
  const start = await requestWhere(notify, (q) => actOf(q) === 'start', 0)
  t.equal(start.line, `GET /?call=pull&act=start&${PLAYER_R_QUERY_TAIL} HTTP/1.1`, 'the path is "/" (PingOS: request never sent)')
  checkNotifyHead(t, start.headers, 'no-path URL')
})

t.test('a host name in Location is resolved (compat fix): Location rtmp://localhost:<p>/...', async (t) => {
  const origin = await rtmpOrigin(t)
  const notify = await notifyServer(t, reply(302, { Location: `rtmp://localhost:${origin.port}/oapp/cam9` }))
  const { rtmpPort } = await startEdgeB(t, onPullLine(notify.port))
  const r = await playerR(t, rtmpPort)
  const conn = await origin.connection(0)
  const play = await origin.command(conn, 'play')
  t.equal(play.args[0], 'cam9?tok=abc', 'origin play: Location name, the player\'s query (Location has none)')
  t.equal(commandObject(await origin.command(conn, 'connect')).tcUrl, 'rtmp://127.0.0.1/oapp', 'tcUrl: the player\'s domain, not the Location host')
  await r.client.until(() => mediaCount(r.client) > 0, MEDIA_WAIT_MS, 'media through localhost')
  t.pass('player R receives media')
})
