// Notification order and serverid, acceptance scenarios 29 and 36 (issue 10;
// pingos-behaviour.md §0, §1.9, §4.4, §13; pingos-observed.md §13.2), against a real edge
// process: base config B for 29, two server{} blocks on one listen for 36. Player R and
// player H as §13 defines them, ffmpeg as the publisher whose order is checked, a fake RTMP
// origin behind on_pull's 302.
//
// The order is the order in which the notify server received the requests; each comes on its
// own TCP connection, sent one after the other by edge.
// Scenario 36's `/rtmp_stat` listing the stream under `<serverid>a</serverid>` is in
// test/stats/stat-serverid.test.ts.
import t, { type Test } from 'tap'
import { startEdge, freePort, publish } from '../helpers/node.js'
import {
  byPath, clientIdFromLog, notifyLine, notifyServer, PLAY_START, PUBLISH_START, rtmpClient, sendAudioHeader,
  sendMetadata, sendVideoHeader, sequence, where, withAct,
} from '../helpers/notify.js'
import { FakeRtmpOrigin, reply, type RecordingHttpServer } from '../helpers/origins.js'
import { mediaCount, playerH, playerR, requestWhere, startEdgeB, statusInfo } from '../helpers/pull-scenarios.js'

/** bound on media reaching a player through the pull */
const MEDIA_WAIT_MS = 8000
/** bound on the done requests after the last player left */
const DONE_WAIT_MS = 2000
/** bound on ffmpeg's publish reaching on_meta (ffmpeg start-up included) */
const FFMPEG_WAIT_MS = 10_000

/** Scenario 29's three lines (args as in observed §13.2), all `stage=start,done`. */
function orderLines(port: number, pull = true): string {
  const url = `http://127.0.0.1:${port}`
  return [
    `on_stream ${url}/s stage=start,done args=ip=$remote_addr&$pargs;`,
    `on_play ${url}/p stage=start,done args=ip=$remote_addr&$pargs;`,
    `on_publish ${url}/pub stage=start,done args=ip=$remote_addr&$pargs;`,
    `on_meta ${url}/m stage=start,done args=ip=$remote_addr&$pargs;`,
    ...(pull ? [`on_pull ${url}/n stage=start,done args=ip=$remote_addr&$pargs;`] : []),
  ].join('\n')
}

async function orderNotify(t: Test): Promise<{ notify: RecordingHttpServer, origin: FakeRtmpOrigin }> {
  const origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => origin.stop())
  const notify = await notifyServer(t, byPath({ '/n': reply(302, { Location: `rtmp://127.0.0.1:${origin.port}/live/cam1` }) }))
  return { notify, origin }
}

const START_ORDER = ['stream start', 'play start', 'pull start']
const FULL_ORDER = [...START_ORDER, 'play done', 'stream done', 'pull done']

t.test('29: player R: stream, play, pull start; when it leaves: play done, stream done (clientid=0), pull done', async (t) => {
  const { notify } = await orderNotify(t)
  const { edge, rtmpPort } = await startEdgeB(t, orderLines(notify.port))
  const r = await playerR(t, rtmpPort)
  t.same(statusInfo(r.firstStatus), PLAY_START, 'Play.Start')
  const id = await clientIdFromLog(edge, r.client.socket.localPort ?? 0)
  await requestWhere(notify, where('pull', 'start'))
  t.same(sequence(notify), START_ORDER, 'call=stream start, call=play start, then call=pull start')
  await r.client.until(() => mediaCount(r.client) > 0, MEDIA_WAIT_MS, 'media through the pull')

  const player = { domain: '127.0.0.1', app: 'live', name: 'cam1', clientId: id }
  const leg = { ...player, clientId: 0 }
  const [stream, play, pull] = notify.requests
  t.equal(stream.line, notifyLine('/s', 'stream', 'start', player, 'ip=127.0.0.1&tok=abc'), 'stream start: the player\'s clientid and variables')
  t.equal(play.line, notifyLine('/p', 'play', 'start', player, 'ip=127.0.0.1&tok=abc'), 'play start')
  t.equal(pull.line, notifyLine('/n', 'pull', 'start', leg, 'ip=&tok=abc'), 'pull start: clientid=0, no address yet')

  await r.client.close()
  await requestWhere(notify, where('pull', 'done'), 0, DONE_WAIT_MS)
  await requestWhere(notify, where('stream', 'done'), 0, DONE_WAIT_MS)
  t.same(sequence(notify), FULL_ORDER, 'then call=play done, call=stream done, call=pull done')
  const byAct = (call: string) => notify.requests.find(where(call, 'done')) as typeof stream
  t.equal(byAct('play').line, withAct(play.line, 'done'), 'play done repeats play start')
  // the stream empties when the pull leg closes: its done carries the leg's clientid and
  // variables, whose $remote_addr was cached empty at the leg's start (observed §13.2)
  t.equal(byAct('stream').line, notifyLine('/s', 'stream', 'done', leg, 'ip=&tok=abc'), 'stream done from the pull leg: clientid=0')
  t.equal(byAct('pull').line, withAct(pull.line, 'done'), 'pull done repeats pull start')
})

t.test('29: player H gives the same order', async (t) => {
  const { notify } = await orderNotify(t)
  const { httpPort } = await startEdgeB(t, orderLines(notify.port))
  const h = await playerH(t, httpPort)
  await requestWhere(notify, where('pull', 'start'))
  t.same(sequence(notify), START_ORDER, 'call=stream start, call=play start, then call=pull start')
  await h.until(() => h.tags.length > 0, MEDIA_WAIT_MS, 'media through the pull')
  t.equal(h.status, 200, 'player H: 200')
  t.match(notify.requests[0].line, /&ip=127\.0\.0\.1&app=live&tok=abc HTTP\/1\.1$/, 'stream start with player H\'s variables')
  await h.close()
  await requestWhere(notify, where('pull', 'done'), 0, DONE_WAIT_MS)
  await requestWhere(notify, where('stream', 'done'), 0, DONE_WAIT_MS)
  t.same(sequence(notify), FULL_ORDER, 'then call=play done, call=stream done, call=pull done')
  t.match(notify.requests.find(where('stream', 'done'))?.line ?? '', /&clientid=0&/, 'stream done with clientid=0')
})

t.test('29 without a pull: the stream empties with the player, so stream done comes before play done', async (t) => {
  const { notify } = await orderNotify(t)
  const { edge, rtmpPort } = await startEdgeB(t, orderLines(notify.port, false))
  const r = await playerR(t, rtmpPort)
  const id = await clientIdFromLog(edge, r.client.socket.localPort ?? 0)
  await requestWhere(notify, where('play', 'start'))
  await r.client.close()
  await requestWhere(notify, where('play', 'done'), 0, DONE_WAIT_MS)
  await requestWhere(notify, where('stream', 'done'), 0, DONE_WAIT_MS)
  t.same(sequence(notify), ['stream start', 'play start', 'stream done', 'play done'], 'stream start, play start; stream done, play done')
  const player = { domain: '127.0.0.1', app: 'live', name: 'cam1', clientId: id }
  t.equal(notify.requests[2].line, notifyLine('/s', 'stream', 'done', player, 'ip=127.0.0.1&tok=abc'), 'stream done: the player\'s clientid and variables')
})

t.test('29 for a publisher: stream, publish, meta start; at its close stream, meta, publish done', async (t) => {
  const { notify } = await orderNotify(t)
  const { edge, rtmpPort } = await startEdgeB(t, orderLines(notify.port, false))
  const p = await rtmpClient(t, rtmpPort, 'live')
  const id = await clientIdFromLog(edge, p.socket.localPort ?? 0)
  t.same(statusInfo(await p.publish('cam2?k=1')), PUBLISH_START, 'Publish.Start')
  sendMetadata(p)
  sendVideoHeader(p)
  sendAudioHeader(p)
  await requestWhere(notify, where('meta', 'start'))
  t.same(sequence(notify), ['stream start', 'publish start', 'meta start'], 'stream start, publish start, then meta start at the video header')
  const who = { domain: '127.0.0.1', app: 'live', name: 'cam2', clientId: id }
  t.equal(notify.requests[1].line, notifyLine('/pub', 'publish', 'start', who, 'ip=127.0.0.1&k=1'), 'publish start')
  t.equal(notify.requests[2].line, notifyLine('/m', 'meta', 'start', who, 'ip=127.0.0.1&k=1'), 'meta start')
  await p.close()
  for (const call of ['stream', 'meta', 'publish']) await requestWhere(notify, where(call, 'done'), 0, DONE_WAIT_MS)
  t.same(sequence(notify).slice(3), ['stream done', 'meta done', 'publish done'], 'at the close: stream done, meta done, publish done')
})

t.test('29 for ffmpeg publishing: stream, publish, meta start in that order', async (t) => {
  const { notify } = await orderNotify(t)
  const { rtmpPort } = await startEdgeB(t, orderLines(notify.port, false))
  const ff = publish(`rtmp://127.0.0.1:${rtmpPort}/live/cam3?k=ff`)
  t.teardown(() => ff.stop())
  await requestWhere(notify, where('meta', 'start'), 0, FFMPEG_WAIT_MS)
  t.same(sequence(notify), ['stream start', 'publish start', 'meta start'], 'stream start, publish start, meta start')
  t.match(notify.requests[1].line, /^GET \/pub\?call=publish&act=start&domain=127\.0\.0\.1&app=live&name=cam3&clientid=\d+&ip=127\.0\.0\.1&k=ff HTTP\/1\.1$/,
    'ffmpeg\'s publish start')
  await ff.stop()
  for (const call of ['stream', 'meta', 'publish']) await requestWhere(notify, where(call, 'done'), 0, DONE_WAIT_MS)
  t.same(sequence(notify).slice(3), ['stream done', 'meta done', 'publish done'], 'when ffmpeg is killed: stream done, meta done, publish done')
})

t.test('36: two server{} blocks on one listen: the second block\'s app serves b.test, notifications carry sid=a', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const port = await freePort()
  const edge = await startEdge(`events {}
rtmp {
    server {
        listen 127.0.0.1:${port};
        serverid a;
        server_name a.test;
        application live { live on; }
    }
    server {
        listen 127.0.0.1:${port};
        serverid b;
        server_name b.test;
        application live {
            live on;
            on_play http://127.0.0.1:${notify.port}/p args=sid=$serverid;
        }
    }
}
`)
  t.teardown(() => edge.stop())
  const b = await rtmpClient(t, port, 'live', `rtmp://b.test:${port}/live`)
  const id = await clientIdFromLog(edge, b.socket.localPort ?? 0)
  t.same(statusInfo(await b.play('cam1')), PLAY_START, 'the b.test player: Play.Start')
  const start = await requestWhere(notify, where('play', 'start'))
  t.equal(start.line, notifyLine('/p', 'play', 'start', { domain: 'b.test', app: 'live', name: 'cam1', clientId: id }, 'sid=a'),
    'the second block\'s on_play, with $serverid of the listen\'s default server: sid=a')

  const a = await rtmpClient(t, port, 'live', `rtmp://a.test:${port}/live`)
  t.same(statusInfo(await a.play('cam1')), PLAY_START, 'the a.test player: Play.Start')
  t.equal(notify.requests.length, 1, 'the first block\'s application (no on_play) sent nothing')
})
