// on_play / on_publish acceptance scenarios 26–28 (issue 10; pingos-behaviour.md §4.3, §4.8,
// §13; pingos-observed.md §12, §13.1, §17) against a real edge process on base config B, with
// real clients where they can show it (ffmpeg publishing, ffprobe and rtmpdump playing, an
// HTTP-FLV player on a raw socket) and the AMF-level test client where the exact onStatus
// messages matter. Scenarios 29 and 36 are in notify-order.test.ts.
//
// Where edge deliberately differs from PingOS (contract of issue 10) the test asserts edge:
//   - a refused RTMP player or publisher gets onStatus Play.Forbidden (level status, "Play
//     stream Forbidden") before the close; PingOS closes with no status (observed §17.1).
// Scenario 26's `<N>` in /rtmp_stat and /control/drop/client is in test/stats/clientid-scenario26.test.ts.
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { runProcess } from '../helpers/edge.js'
import { publish, publishLive } from '../helpers/node.js'
import {
  absent, byPath, checkNotifyHead, clientIdFromLog, closedAt, later, notifyServer, originPlayed, PLAY_FORBIDDEN,
  PLAY_START, rtmpClient, where, withAct,
} from '../helpers/notify.js'
import { FakeRtmpOrigin, hang, reply, type HttpAnswer, type RecordedRequest } from '../helpers/origins.js'
import {
  ffprobeStreams, H264_AAC, mediaCount, playerH, playerR, requestWhere, startEdgeB, statuses, statusInfo,
} from '../helpers/pull-scenarios.js'

const RTMPDUMP = '/usr/bin/rtmpdump'
/** scenario 26's on_play `update=2s` */
const UPDATE_MS = 2000
/** the brief's tolerance on the update period */
const UPDATE_TOLERANCE_MS = 100
/** scenario 27's `timeout=1s` */
const TIMEOUT_MS = 1000
/** how early a timeout may appear to fire (clocks of two processes) */
const EARLY_MS = 100
/** how late past its time an event may come on a loaded 2-core machine */
const LATE_MS = 600
/** "right after": a refusal after its answer, a done after the client left */
const PROMPT_MS = 500
/** how long on_play is left unanswered to see that the player is told nothing meanwhile */
const HOLD_MS = 500
/** how long edge is watched for a pull or an update that must not come */
const QUIET_MS = 1500
/** bound on a tool (rtmpdump, ffmpeg) ending by itself */
const TOOL_WAIT_MS = 15_000
/** bound on media reaching a player */
const MEDIA_WAIT_MS = 8000

/** Scenario 26's on_play line (scenarios 27 and 28 keep it), with `extra` arguments. */
const onPlayLine = (port: number, extra = ''): string =>
  `on_play http://127.0.0.1:${port}/p stage=start,update,done update=2s ${extra} args=ip=$remote_addr&$pargs;`
/** an on_pull to the scenario's origin, so a refused player's pull would show */
const onPullLine = (port: number): string => `on_pull http://127.0.0.1:${port}/n stage=start,done args=$pargs;`
/** player R's on_play start request line (scenario 26) */
const playerRLine = (clientId: number | string): string =>
  `GET /p?call=play&act=start&domain=127.0.0.1&app=live&name=cam1&clientid=${clientId}&ip=127.0.0.1&tok=abc HTTP/1.1`

async function origin(t: Test): Promise<FakeRtmpOrigin> {
  const o = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => o.stop())
  return o
}

/** on_play answered by `play`, on_pull by a 302 to `o` */
function answers(play: HttpAnswer, o: FakeRtmpOrigin): HttpAnswer {
  return byPath({ '/p': play, '/n': reply(302, { Location: `rtmp://127.0.0.1:${o.port}/live/cam1` }) })
}

t.test('26: on_play allow: the start request byte for byte; Play.Start only after the answer', async (t) => {
  const held: RecordedRequest[] = []
  const notify = await notifyServer(t, (req) => {
    if (/[?&]act=start&/.test(req.line)) held.push(req)
    else reply(200)(req)
  })
  const { edge, rtmpPort } = await startEdgeB(t, onPlayLine(notify.port))
  const r = await rtmpClient(t, rtmpPort, 'live')
  const id = await clientIdFromLog(edge, r.socket.localPort ?? 0)
  const playing = later(r.play('cam1?tok=abc'))
  const start = await requestWhere(notify, where('play', 'start'))
  t.equal(start.line, playerRLine(id), 'GET /p?call=play&act=start&…&clientid=<N>&ip=127.0.0.1&tok=abc, N = the connection number')
  checkNotifyHead(t, start.headers, 'on_play start')
  const toldEarly = await r.until(() => statuses(r).length > 0 || r.closed, HOLD_MS).then(() => true, () => false)
  t.notOk(toldEarly, `no onStatus and no close while on_play is unanswered (${HOLD_MS} ms)`)
  reply(200)(held[0])
  t.same(statusInfo(await playing), PLAY_START, 'Play.Start once the notify server answered 200')
  t.same(statuses(r), [PLAY_START], 'and no other onStatus')
})

t.test('26: act=update every 2 s repeating the start byte for byte; act=done on disconnect; a connection per request', async (t) => {
  const notify = await notifyServer(t, reply(200, { Connection: 'keep-alive', 'Keep-Alive': 'timeout=5' }))
  const { edge, rtmpPort } = await startEdgeB(t, onPlayLine(notify.port))
  const r = await playerR(t, rtmpPort)
  t.same(statusInfo(r.firstStatus), PLAY_START, 'Play.Start')
  const id = await clientIdFromLog(edge, r.client.socket.localPort ?? 0)
  const start = await requestWhere(notify, where('play', 'start'))
  t.equal(start.line, playerRLine(id), 'the start request line')
  const u0 = await requestWhere(notify, where('play', 'update'), 0, UPDATE_MS + 2000)
  const u1 = await requestWhere(notify, where('play', 'update'), 1, UPDATE_MS + 2000)
  for (const u of [u0, u1]) t.equal(u.line, withAct(start.line, 'update'), 'act=update: the start line byte for byte but act=')
  const first = u0.at - start.at
  const second = u1.at - u0.at
  t.ok(Math.abs(first - UPDATE_MS) <= UPDATE_TOLERANCE_MS, `the first update ${first} ms after the start (2000 ± ${UPDATE_TOLERANCE_MS})`)
  t.ok(Math.abs(second - UPDATE_MS) <= UPDATE_TOLERANCE_MS, `the second ${second} ms after the first (2000 ± ${UPDATE_TOLERANCE_MS})`)
  t.equal(notify.requests.filter(where('play', 'done')).length, 0, 'no act=done while the player plays')
  await r.client.close()
  const leftAt = Date.now()
  const done = await requestWhere(notify, where('play', 'done'), 0, PROMPT_MS + 1000)
  t.equal(done.line, withAct(start.line, 'done'), 'act=done: the start line byte for byte but act=')
  t.ok(done.at - leftAt <= PROMPT_MS, `act=done ${done.at - leftAt} ms after the player left`)
  checkNotifyHead(t, done.headers, 'on_play done')
  const sockets = new Set([start, u0, u1, done].map((q) => q.socket))
  t.equal(sockets.size, 4, 'each request came on its own TCP connection, though the answers allowed keep-alive (observed §12)')
})

t.test('26 with real clients: ffprobe plays over RTMP and HTTP-FLV through on_play; ffmpeg publishes', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const { edge, rtmpPort, httpPort } = await startEdgeB(t, onPlayLine(notify.port))
  await publishLive(t, edge, rtmpPort, 10_000, 'cam1')
  t.same(await ffprobeStreams(`rtmp://127.0.0.1:${rtmpPort}/live/cam1?tok=abc`), H264_AAC, 'ffprobe over RTMP: h264 + aac')
  const rStart = await requestWhere(notify, where('play', 'start'), 0)
  t.match(rStart.line, /^GET \/p\?call=play&act=start&domain=127\.0\.0\.1&app=live&name=cam1&clientid=\d+&ip=127\.0\.0\.1&tok=abc HTTP\/1\.1$/,
    'ffprobe\'s on_play start request')
  const rDone = await requestWhere(notify, where('play', 'done'), 0, PROMPT_MS + 1000)
  t.equal(rDone.line, withAct(rStart.line, 'done'), 'act=done when ffprobe has gone')

  t.same(await ffprobeStreams(`http://127.0.0.1:${httpPort}/flv/cam1?app=live&tok=abc`), H264_AAC, 'ffprobe over HTTP-FLV: h264 + aac')
  const hStart = await requestWhere(notify, where('play', 'start'), 1)
  t.match(hStart.line, /^GET \/p\?call=play&act=start&domain=127\.0\.0\.1&app=live&name=cam1&clientid=\d+&ip=127\.0\.0\.1&app=live&tok=abc HTTP\/1\.1$/,
    'the HTTP-FLV player\'s on_play start request ($pargs = the whole query)')
  t.not(hStart.line, rStart.line, 'another clientid')
  const hDone = await requestWhere(notify, where('play', 'done'), 1, PROMPT_MS + 1000)
  t.equal(hDone.line, withAct(hStart.line, 'done'), 'act=done when ffprobe has gone')
})

t.test('27: on_play 403: player R gets only Play.Forbidden then close, no pull; player H 503; rtmpdump refused', async (t) => {
  const o = await origin(t)
  const notify = await notifyServer(t, answers(reply(403), o))
  const { rtmpPort, httpPort } = await startEdgeB(t, `${onPlayLine(notify.port)}\n${onPullLine(notify.port)}`)

  const r = await playerR(t, rtmpPort)
  t.same(statusInfo(r.firstStatus), PLAY_FORBIDDEN, 'player R: onStatus Play.Forbidden (level status, "Play stream Forbidden")')
  await closedAt(r.client, PROMPT_MS + 1000)
  t.same(statuses(r.client), [PLAY_FORBIDDEN], 'player R: nothing else (no Play.Start), then the close')
  t.equal(mediaCount(r.client), 0, 'player R: no media')
  await requestWhere(notify, where('play', 'done'), 0, PROMPT_MS + 1000)

  const h = await playerH(t, httpPort)
  await h.waitHead()
  t.equal(h.status, 503, 'player H: 503')
  t.equal(h.header('Access-Control-Allow-Origin'), '*', 'player H: with the flv CORS headers')

  const dump = await runProcess(RTMPDUMP, ['--live', '-z', '-r', `rtmp://127.0.0.1:${rtmpPort}/live/cam1?tok=abc`, '-o', '/dev/null'], { timeoutMs: TOOL_WAIT_MS })
  t.not(dump.code, 0, `rtmpdump fails (exit ${dump.code})`)
  t.match(dump.stderr, /onStatus: NetStream\.Play\.Forbidden/, 'rtmpdump saw onStatus NetStream.Play.Forbidden')
  t.notMatch(dump.stderr, /NetStream\.Play\.Start/, 'and no Play.Start')

  t.ok(await absent(notify, where('pull', 'start'), QUIET_MS), `no call=pull request within ${QUIET_MS} ms`)
  t.equal(notify.requests.filter((q) => q.line.includes('call=pull')).length, 0, 'no call=pull at all')
  t.equal(o.connections.length, 0, 'the origin was never contacted')
  t.equal(notify.requests.filter(where('play', 'start')).length, 3, 'an on_play start for each of the three players')
})

t.test('27: on_play 300: allowed; the pull starts after it', async (t) => {
  const o = await origin(t)
  const notify = await notifyServer(t, answers(reply(300), o))
  const { rtmpPort, httpPort } = await startEdgeB(t, `${onPlayLine(notify.port)}\n${onPullLine(notify.port)}`)
  const r = await playerR(t, rtmpPort)
  t.same(statusInfo(r.firstStatus), PLAY_START, 'player R: Play.Start')
  await r.client.until(() => r.client.messages.some((m) => m.typeId === MSG_VIDEO), MEDIA_WAIT_MS, 'video through the pull')
  t.pass('player R receives video')
  t.ok(originPlayed(o, 'cam1'), 'the origin was asked for the stream')
  const h = await playerH(t, httpPort)
  await h.waitHead(MEDIA_WAIT_MS)
  t.equal(h.status, 200, 'player H: 200')
})

for (const ignore of [false, true]) {
  const verdict = ignore ? 'allowed at the timeout' : 'refused at the timeout'
  t.test(`27: no answer within timeout=1s${ignore ? ', ignore_invalid_notify on' : ''}: ${verdict}`, async (t) => {
    const o = await origin(t)
    const notify = await notifyServer(t, answers(hang, o))
    const { rtmpPort, httpPort } = await startEdgeB(t, `${onPlayLine(notify.port, 'timeout=1s')}\n${onPullLine(notify.port)}\n${ignore ? 'ignore_invalid_notify on;' : ''}`)

    const r = await playerR(t, rtmpPort)
    const statusAt = Date.now()
    const start = await requestWhere(notify, where('play', 'start'))
    const ms = statusAt - start.at
    t.ok(ms >= TIMEOUT_MS - EARLY_MS && ms <= TIMEOUT_MS + LATE_MS, `player R: its onStatus ${ms} ms after the start request (timeout=1s)`)
    if (ignore) {
      t.same(statusInfo(r.firstStatus), PLAY_START, 'player R: Play.Start')
      await r.client.until(() => mediaCount(r.client) > 0, MEDIA_WAIT_MS, 'media through the pull')
      t.pass('player R receives media')
    } else {
      t.same(statusInfo(r.firstStatus), PLAY_FORBIDDEN, 'player R: Play.Forbidden')
      await closedAt(r.client, PROMPT_MS + 1000)
      t.same(statuses(r.client), [PLAY_FORBIDDEN], 'player R: nothing else, then the close')
      const done = await requestWhere(notify, where('play', 'done'), 0, TIMEOUT_MS + LATE_MS)
      const doneMs = done.at - start.at
      t.ok(doneMs >= TIMEOUT_MS - EARLY_MS && doneMs <= TIMEOUT_MS + LATE_MS, `act=done at the timeout (${doneMs} ms)`)
      t.equal(done.line, withAct(start.line, 'done'), 'act=done repeats the start')
    }

    const h = await playerH(t, httpPort)
    await h.waitHead(TIMEOUT_MS + MEDIA_WAIT_MS)
    const headMs = h.firstByteMs ?? NaN
    if (ignore) {
      t.equal(h.status, 200, 'player H: 200')
      t.ok(headMs >= TIMEOUT_MS - EARLY_MS, `player H: the head came ${Math.round(headMs)} ms after the request, past the timeout`)
    } else {
      t.equal(h.status, 503, 'player H: 503')
      t.ok(headMs >= TIMEOUT_MS - EARLY_MS && headMs <= TIMEOUT_MS + LATE_MS, `player H: the 503 ${Math.round(headMs)} ms after the request (timeout=1s)`)
      t.ok(await absent(notify, where('pull', 'start'), QUIET_MS), 'no call=pull request')
      t.equal(o.connections.length, 0, 'the origin was never contacted')
    }
  })
}

const onPublishLine = (port: number): string => `on_publish http://127.0.0.1:${port}/pub stage=start,done args=$pargs;`

t.test('28: on_publish 403: the RTMP publisher gets onStatus NetStream.Play.Forbidden and is disconnected', async (t) => {
  const notify = await notifyServer(t, reply(403))
  const { rtmpPort } = await startEdgeB(t, onPublishLine(notify.port))
  const p = await rtmpClient(t, rtmpPort, 'live')
  const first = await p.publish('cam1?tok=abc')
  t.same(statusInfo(first), PLAY_FORBIDDEN, 'onStatus NetStream.Play.Forbidden (not Publish.Forbidden), level status')
  await closedAt(p, PROMPT_MS + 1000)
  t.same(statuses(p), [PLAY_FORBIDDEN], 'no Publish.Start, then the close')
  const start = await requestWhere(notify, where('publish', 'start'))
  t.match(start.line, /^GET \/pub\?call=publish&act=start&domain=127\.0\.0\.1&app=live&name=cam1&clientid=\d+&tok=abc HTTP\/1\.1$/, 'the on_publish start request')
  const done = await requestWhere(notify, where('publish', 'done'), 0, PROMPT_MS + 1000)
  t.equal(done.line, withAct(start.line, 'done'), 'act=done after the refusal')
})

t.test('28 with ffmpeg: a refused ffmpeg publisher stops with an error; players never see its media', async (t) => {
  const notify = await notifyServer(t, reply(403))
  const { rtmpPort, httpPort } = await startEdgeB(t, onPublishLine(notify.port))
  const r = await playerR(t, rtmpPort)
  t.same(statusInfo(r.firstStatus), PLAY_START, 'player R waits on the idle stream')
  const ff = publish(`rtmp://127.0.0.1:${rtmpPort}/live/cam1?tok=ff`)
  t.teardown(() => ff.stop())
  const start = await requestWhere(notify, where('publish', 'start'), 0, TOOL_WAIT_MS)
  t.match(start.line, /&name=cam1&clientid=\d+&tok=ff HTTP\/1\.1$/, 'ffmpeg\'s on_publish start request')
  const [code] = await once(ff.child, 'exit', { signal: AbortSignal.timeout(TOOL_WAIT_MS) }) as [number | null]
  t.ok(code !== null && code !== 0, `ffmpeg exited with an error (${code})`)
  const h = await playerH(t, httpPort)
  await h.waitHead(MEDIA_WAIT_MS)
  t.equal(h.status, 503, 'an HTTP-FLV player gets no stream (503 at the server timeout)')
  t.equal(mediaCount(r.client), 0, 'player R got no media')
  t.same(statuses(r.client), [PLAY_START], 'and no other onStatus')
})
