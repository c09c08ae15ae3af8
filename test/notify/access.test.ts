// allow / deny as the first stage of the play and publish pipelines (issue 10; contract
// "allow / deny"; pingos-behaviour.md §0, §4.8). PingOS checks access last, after Play.Start
// and after every notification; edge checks it first, for RTMP and HTTP-FLV alike (a fix,
// docs/compat.md). One edge: app `denyplay` and `denypub` deny, with on_stream, on_play /
// on_publish and on_pull all configured, so a wrong order shows as a notify request or an
// origin contact; app `allowlocal` allows 127.0.0.1 before `deny play all`.
//
// What edge must do:
//   - denied RTMP player: onStatus Play.Forbidden (level status, "Play stream Forbidden"),
//     then close; no Play.Start; no on_stream / on_play request, no on_pull, no origin contact;
//   - denied HTTP-FLV player: 403, and no request either;
//   - denied RTMP publisher: onStatus Play.Forbidden before any Publish.Start, then close; no
//     on_stream / on_publish request;
//   - a rule that allows the client lets the session go on to its notifications.
import t from 'tap'
import {
  absent, byPath, closedAt, notifyServer, originPlayed, PLAY_FORBIDDEN, PLAY_START, rtmpClient, startNotifyEdge, where, type NotifyEdge,
} from '../helpers/notify.js'
import { FakeRtmpOrigin, reply, type RecordingHttpServer } from '../helpers/origins.js'
import { requestWhere, statuses, statusInfo } from '../helpers/pull-scenarios.js'
import { RawHttpClient } from '../helpers/raw-http.js'

/** bound on a denied client being closed */
const CLOSE_WAIT_MS = 2000
/** how long edge is watched for a request or an origin contact that must not come */
const QUIET_MS = 1000

let notify: RecordingHttpServer
let origin: FakeRtmpOrigin
let node: NotifyEdge

t.before(async () => {
  origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => origin.stop())
  notify = await notifyServer(t, byPath({ '/pull': reply(302, { Location: `rtmp://127.0.0.1:${origin.port}/live/cam1` }) }))
  const url = `http://127.0.0.1:${notify.port}`
  const notifications = `on_stream ${url}/stream stage=start,done args=$pargs;
            on_play ${url}/play stage=start,done args=$pargs;
            on_publish ${url}/publish stage=start,done args=$pargs;
            on_pull ${url}/pull stage=start,done args=$pargs;`
  node = await startNotifyEdge(t, {
    apps: {
      denyplay: `deny play all;\n            ${notifications}`,
      denypub: `deny publish all;\n            ${notifications}`,
      allowlocal: `allow play 127.0.0.1;\n            deny play all;\n            ${notifications}`,
    },
  })
})

const nothingSent = async (name: string): Promise<boolean> => absent(notify, (r) => r.line.includes(`&name=${name}&`), QUIET_MS)

t.test('deny play all: an RTMP player gets Play.Forbidden then close; no notification, no pull', async (t) => {
  const p = await rtmpClient(t, node.rtmpPort, 'denyplay')
  const first = await p.play('dp?tok=1')
  t.same(statusInfo(first), PLAY_FORBIDDEN, 'the first onStatus is Play.Forbidden (level status, "Play stream Forbidden")')
  await closedAt(p, CLOSE_WAIT_MS)
  t.same(statuses(p), [PLAY_FORBIDDEN], 'no other onStatus (no Play.Start)')
  t.ok(await nothingSent('dp'), `no on_stream, on_play or on_pull request within ${QUIET_MS} ms`)
  t.notOk(originPlayed(origin, 'dp') || originPlayed(origin, 'cam1'), 'the origin was never asked for the stream')
})

t.test('deny play all: an HTTP-FLV player gets 403; no notification, no pull', async (t) => {
  const h = await RawHttpClient.request(node.httpPort, '/flv/dh?app=denyplay&tok=1')
  t.teardown(() => h.close())
  await h.waitHead()
  t.equal(h.status, 403, 'HTTP 403')
  t.ok(await nothingSent('dh'), `no on_stream, on_play or on_pull request within ${QUIET_MS} ms`)
  t.notOk(originPlayed(origin, 'dh') || originPlayed(origin, 'cam1'), 'the origin was never asked for the stream')
})

t.test('deny publish all: an RTMP publisher gets Play.Forbidden before any Publish.Start, then close; no notification', async (t) => {
  const p = await rtmpClient(t, node.rtmpPort, 'denypub')
  const first = await p.publish('ds?tok=1')
  t.same(statusInfo(first), PLAY_FORBIDDEN, 'the first onStatus is Play.Forbidden (level status, "Play stream Forbidden")')
  await closedAt(p, CLOSE_WAIT_MS)
  t.same(statuses(p), [PLAY_FORBIDDEN], 'no Publish.Start at all')
  t.ok(await nothingSent('ds'), `no on_stream or on_publish request within ${QUIET_MS} ms`)
})

t.test('deny publish does not deny play, deny play does not deny publish', async (t) => {
  const player = await rtmpClient(t, node.rtmpPort, 'denypub')
  t.same(statusInfo(await player.play('mixed')), PLAY_START, 'a player of the deny-publish app gets Play.Start')
  await requestWhere(notify, where('play', 'start', 'mixed'))
  t.pass('and its on_play request was sent')
  const publisher = await rtmpClient(t, node.rtmpPort, 'denyplay')
  t.equal(statusInfo(await publisher.publish('mixed2')).code, 'NetStream.Publish.Start', 'a publisher of the deny-play app gets Publish.Start')
  await requestWhere(notify, where('publish', 'start', 'mixed2'))
  t.pass('and its on_publish request was sent')
})

t.test('allow play 127.0.0.1 before deny play all: the player goes on to on_stream and on_play', async (t) => {
  const p = await rtmpClient(t, node.rtmpPort, 'allowlocal')
  t.same(statusInfo(await p.play('al?tok=1')), PLAY_START, 'Play.Start')
  await requestWhere(notify, where('stream', 'start', 'al'))
  await requestWhere(notify, where('play', 'start', 'al'))
  t.pass('on_stream and on_play requests were sent')
  t.notOk(p.closed, 'the player stays')
})
