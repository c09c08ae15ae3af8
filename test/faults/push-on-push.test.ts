// Issue 11: `on_push` answers (contract item 7; pingos-behaviour.md §5.3, pingos-observed.md
// §14.3). One edge, one application per answer, a recording notify server that answers by
// path, and a scripted publish target (test/helpers/push-target.ts). An AMF-level publisher
// publishes <app>/s1 (with a query where the case needs one); asserted: the exact request lines
// (start, update, done, each with its own line's URL and args), where the leg pushes after a
// 302 (and its Domain header), that a 200 pushes nothing and is not asked again, that a 403 refuses the publisher with
// NetStream.Play.Forbidden, and the re-ask back-off after no answer or a 302 without Location.
import t, { type Test } from 'tap'
import {
  absent, byPath, notifyLine, notifyServer, pathOf, PLAY_FORBIDDEN, startNotifyEdge, where, withAct, LATE_MS, PROMPT_MS,
  type NotifyEdge, type NotifySubject,
} from '../helpers/notify.js'
import { hang, reply, type RecordedRequest, type RecordingHttpServer } from '../helpers/origins.js'
import { mediaCount, nextStatus, requestWhere, statusInfo } from '../helpers/pull-scenarios.js'
import { expectUndisturbed, localPlayer, pacedPublisher, streamLines, within } from '../helpers/push-scenarios.js'
import { connectObject, mediaOf, publishedName, pushTarget, type PushTarget } from '../helpers/push-target.js'

/** `update=1s` on the 302 lines, `timeout=1s` on the unanswered one */
const UPDATE_MS = 1000
const TIMEOUT_MS = 1000
/** re-ask back-off after a leg that got nothing to push: failed_reconnect 50 ms doubling */
const BACKOFF_MS = [50, 100, 200]
/** how long a test watches for a request that must not come */
const QUIET_MS = 1500
/** bound on the publisher, requests, the push connection and media */
const WAIT_MS = 10_000
/** media messages that show a push connection carries the stream */
const FLOWING = 50

let notify: RecordingHttpServer
let target: PushTarget
let node: NotifyEdge

t.before(async () => {
  target = await pushTarget(t)
  notify = await notifyServer(t, byPath({
    '/p302': reply(302, { Location: `rtmp://127.0.0.1:${target.port}/live2/renamed?sig=1` }),
    '/p302b': reply(302, { Location: `rtmp://127.0.0.1:${target.port}/live3`, Domain: 'cdn.example' }),
    '/p200': reply(200),
    '/p403': reply(403),
    '/pnoloc': reply(302),
    '/phang': hang,
  }))
  const line = (path: string, extra: string): string => `on_push http://127.0.0.1:${notify.port}${path} ${extra};`
  node = await startNotifyEdge(t, {
    apps: {
      op302: [
        line('/p302', `stage=start,update,done update=1s args=n=1&$pargs`),
        line('/p302b', `stage=start,update,done update=1s args=n=2&$pargs`),
      ].join('\n            '),
      op200: line('/p200', 'stage=start,done args=$pargs'),
      op403: line('/p403', 'stage=start,done args=$pargs'),
      opnoloc: line('/pnoloc', 'stage=start,done args=$pargs'),
      ophang: line('/phang', 'stage=start,done timeout=1s args=$pargs'),
    },
  })
})

/** The request subject of the publisher of <app>/s1 (on_push legs have clientid 0, contract item 7). */
const subject = (app: string): NotifySubject => ({ domain: '127.0.0.1', app, name: 's1', clientId: 0 })
const onPath = (path: string, act: string) => (r: RecordedRequest): boolean => pathOf(r) === path && where('push', act)(r)

t.test('302 Location → push there: connect app / publish name from the Location, own URL and args for start, update and done', async (t) => {
  const pub = await pacedPublisher(t, node.rtmpPort, 'op302', 's1?y=2')
  t.equal(pub.firstStatus.code, 'NetStream.Publish.Start', 'the publisher has Publish.Start')
  const starts = await Promise.all([
    requestWhere(notify, onPath('/p302', 'start'), 0, WAIT_MS),
    requestWhere(notify, onPath('/p302b', 'start'), 0, WAIT_MS),
  ])
  t.equal(starts[0].line, notifyLine('/p302', 'push', 'start', subject('op302'), 'n=1&y=2'), 'the first line\'s start request, byte for byte')
  t.equal(starts[1].line, notifyLine('/p302b', 'push', 'start', subject('op302'), 'n=2&y=2'), 'the second line\'s start request, byte for byte')
  t.ok(Math.abs(starts[0].at - starts[1].at) <= PROMPT_MS, 'both asked at once (one leg per line, in parallel)')

  await target.until(() => target.connections.length >= 2 && target.connections.slice(0, 2).every((c) => mediaOf(c).length >= FLOWING),
    WAIT_MS, 'media on two push connections')
  const seen = target.connections.slice(0, 2).map((c) => {
    const o = connectObject(c) ?? {}
    return `${String(o.app)} ${String(o.tcUrl)} ${publishedName(c) ?? ''}`
  }).sort()
  t.same(seen, ['live2 rtmp://127.0.0.1/live2 renamed?sig=1', 'live3 rtmp://cdn.example/live3 s1?y=2'],
    'Location with name and query → that name and query; without → the publisher\'s name and pargs; a Domain header → the tcUrl host')

  const updates = await Promise.all([
    requestWhere(notify, onPath('/p302', 'update'), 0, UPDATE_MS + WAIT_MS),
    requestWhere(notify, onPath('/p302b', 'update'), 0, UPDATE_MS + WAIT_MS),
  ])
  t.equal(updates[0].line, withAct(starts[0].line, 'update'), 'the first leg\'s update: its own line\'s URL and args')
  t.equal(updates[1].line, withAct(starts[1].line, 'update'), 'the second leg\'s update: its own line\'s URL and args')
  t.ok(within(updates[0].at - starts[0].at, UPDATE_MS), `first update ${Math.round(updates[0].at - starts[0].at)} ms after the start (update=1s)`)

  const leftAt = Date.now()
  await pub.client.close()
  const dones = await Promise.all([
    requestWhere(notify, onPath('/p302', 'done'), 0, WAIT_MS),
    requestWhere(notify, onPath('/p302b', 'done'), 0, WAIT_MS),
  ])
  t.equal(dones[0].line, withAct(starts[0].line, 'done'), 'the first leg\'s done: its own line\'s URL and args')
  t.equal(dones[1].line, withAct(starts[1].line, 'done'), 'the second leg\'s done: its own line\'s URL and args')
  t.ok(dones.every((d) => d.at - leftAt <= PROMPT_MS), 'both sent right after the publisher left')
  t.ok(await target.closed(target.connections[0], PROMPT_MS) && await target.closed(target.connections[1], PROMPT_MS),
    'both push connections closed')
  t.equal(notify.requests.filter(where('push', 'done')).length, 2, 'one done per leg')
})

t.test('200 → no push for the line, act=done, never asked again while the publisher lasts', async (t) => {
  const before = target.connections.length
  const pub = await pacedPublisher(t, node.rtmpPort, 'op200', 's1')
  const player = await localPlayer(t, node.rtmpPort, 'op200', 's1')
  const start = await requestWhere(notify, onPath('/p200', 'start'), 0, WAIT_MS)
  t.equal(start.line, notifyLine('/p200', 'push', 'start', subject('op200')), 'the start request, byte for byte')
  const done = await requestWhere(notify, onPath('/p200', 'done'), 0, WAIT_MS)
  t.equal(done.line, withAct(start.line, 'done'), 'act=done repeats it')
  t.ok(done.at - start.at <= PROMPT_MS, `${Math.round(done.at - start.at)} ms after the start (right after the 200)`)
  const mediaBefore = mediaCount(player)
  t.ok(await absent(notify, onPath('/p200', 'start'), QUIET_MS), `no new start within ${QUIET_MS} ms`)
  t.equal(target.connections.length, before, 'no push connection anywhere')
  t.same(streamLines(node.edge.log().split('\n'), 'op200', 's1', /push: rtmp:\/\//), [], 'no push attempt logged')
  await expectUndisturbed(t, node.edge, pub.client, player, mediaBefore, WAIT_MS)
})

t.test('403 → the publisher gets NetStream.Play.Forbidden and is disconnected; act=done', async (t) => {
  const before = target.connections.length
  const pub = await pacedPublisher(t, node.rtmpPort, 'op403', 's1')
  t.equal(pub.firstStatus.code, 'NetStream.Publish.Start', 'the publisher had Publish.Start first')
  const start = await requestWhere(notify, onPath('/p403', 'start'), 0, WAIT_MS)
  t.equal(start.line, notifyLine('/p403', 'push', 'start', subject('op403')), 'the start request, byte for byte')
  const status = await nextStatus(pub.client, PLAY_FORBIDDEN.code, WAIT_MS)
  t.same(statusInfo(status), PLAY_FORBIDDEN, 'onStatus {status, NetStream.Play.Forbidden, "Play stream Forbidden"}')
  await pub.client.until(() => pub.client.closed, PROMPT_MS + 1000, 'the edge to close the publisher')
  t.pass('and the publisher was disconnected')
  const done = await requestWhere(notify, onPath('/p403', 'done'), 0, WAIT_MS)
  t.equal(done.line, withAct(start.line, 'done'), 'act=done repeats the start')
  t.equal(target.connections.length, before, 'no push connection')
  t.ok(streamLines(node.edge.log().split('\n'), 'op403', 's1', /on_push/).length >= 1, 'edge logged the on_push refusal')
  t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit], [emerg] or internal error in the log')
})

/** Start requests of `path`, as times relative to the first. */
async function reasks(t: Test, path: string, n: number, timeoutMs: number): Promise<{ starts: number[], dones: number[] }> {
  await requestWhere(notify, onPath(path, 'start'), n - 1, timeoutMs)
  const starts = notify.requests.filter(onPath(path, 'start')).map((r) => r.at)
  const dones = notify.requests.filter(onPath(path, 'done')).map((r) => r.at)
  t.comment(`${path}: starts at +${starts.map((v) => Math.round(v - starts[0])).join(', +')} ms; dones at +${dones.map((v) => Math.round(v - starts[0])).join(', +')} ms`)
  return { starts, dones }
}

t.test('302 without Location → act=done, asked again after 50, 100, 200 ms', async (t) => {
  const pub = await pacedPublisher(t, node.rtmpPort, 'opnoloc', 's1')
  const player = await localPlayer(t, node.rtmpPort, 'opnoloc', 's1')
  const mediaBefore = mediaCount(player)
  const { starts, dones } = await reasks(t, '/pnoloc', BACKOFF_MS.length + 1, WAIT_MS)
  BACKOFF_MS.forEach((wait, i) => {
    const done = dones[i]
    t.ok(done !== undefined && done >= starts[i] && done - starts[i] <= PROMPT_MS, `attempt ${i + 1}: act=done right after the answer`)
    t.ok(within(starts[i + 1] - (done ?? starts[i]), wait), `attempt ${i + 2} asked ${Math.round(starts[i + 1] - (done ?? NaN))} ms after the done (expected ${wait})`)
  })
  const first = notify.requests.find(onPath('/pnoloc', 'start'))
  t.ok(notify.requests.filter(onPath('/pnoloc', 'start')).every((r) => r.line === first?.line), 'every start repeats the first byte for byte')
  await expectUndisturbed(t, node.edge, pub.client, player, mediaBefore, WAIT_MS)
})

t.test('no answer (timeout=1s) → act=done at the timeout, asked again after 50, then 100 ms', async (t) => {
  const pub = await pacedPublisher(t, node.rtmpPort, 'ophang', 's1')
  const player = await localPlayer(t, node.rtmpPort, 'ophang', 's1')
  const mediaBefore = mediaCount(player)
  const { starts, dones } = await reasks(t, '/phang', 3, 3 * (TIMEOUT_MS + LATE_MS) + WAIT_MS)
  for (const i of [0, 1]) {
    const done = dones[i]
    t.ok(done !== undefined && within(done - starts[i], TIMEOUT_MS), `attempt ${i + 1}: act=done ${Math.round((done ?? NaN) - starts[i])} ms after its start (timeout=1s)`)
    t.ok(within(starts[i + 1] - (done ?? starts[i]), BACKOFF_MS[i]),
      `attempt ${i + 2} asked ${Math.round(starts[i + 1] - (done ?? NaN))} ms after the done (expected ${BACKOFF_MS[i]})`)
  }
  await expectUndisturbed(t, node.edge, pub.client, player, mediaBefore, WAIT_MS)
})
