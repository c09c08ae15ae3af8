// on_play and on_publish answers (issue 10; pingos-behaviour.md §4.2, §4.3, §4.8;
// pingos-observed.md §13.1): every answer a notify server can give to `act=start`, with and
// without `ignore_invalid_notify on`, for an RTMP player, an HTTP-FLV player and an RTMP
// publisher. One edge holds an application per (notification, ignore_invalid_notify) pair,
// each line `stage=start,update,done update=1s timeout=1s args=$pargs`; the notify server
// answers each request as the `case=` in the client's query says (a status, or `hang`). The
// subtests of a group run in parallel, each on its own stream name.
//
// What edge must do (contract of issue 10):
//   - the session waits for the answer: no Play.Start / Publish.Start / HTTP-FLV head before it;
//   - 200..300 accept, 301/302/403/404/500 refuse, no answer refuses at the timeout (~1 s)
//     unless ignore_invalid_notify is on, which accepts it then;
//   - refused RTMP player or publisher: onStatus Play.Forbidden (level status) then close
//     (a fix: PingOS closes with no status, observed §17.1); refused HTTP-FLV: 503;
//   - a refused player triggers no pull (the app also has a static `pull`: the origin never
//     sees a play for that name); an accepted one gets media through it;
//   - `act=update` every 1 s only after an accepted start; `act=done` in every case, right
//     after a refusal and at the timeout when there was no answer; update and done repeat the
//     start request line byte for byte except `act=`.
import t, { type Test } from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import {
  absent, byCase, clientIdFromLog, closedAt, later, notifyLine, notifyServer, originPlayed as playedAt, PLAY_FORBIDDEN,
  PLAY_START, PUBLISH_START, rtmpClient, startNotifyEdge, where, withAct, type NotifyEdge,
  EARLY_MS, LATE_MS, NO_UPDATE_WATCH_MS, PROMPT_MS, TIMEOUT_MS, UPDATE_MS, answerCases, answerTitle, matrixLine, type AnswerCase,
} from '../helpers/notify.js'
import { FakeRtmpOrigin, type RecordingHttpServer } from '../helpers/origins.js'
import { mediaCount, requestWhere, statuses, statusInfo } from '../helpers/pull-scenarios.js'
import { RawHttpClient } from '../helpers/raw-http.js'

/** bound on media reaching an accepted player through the static pull */
const MEDIA_WAIT_MS = 8000

let notify: RecordingHttpServer
let origin: FakeRtmpOrigin
let node: NotifyEdge

t.before(async () => {
  notify = await notifyServer(t, byCase)
  origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => origin.stop())
  const pull = `pull rtmp://127.0.0.1:${origin.port} app=src;`
  node = await startNotifyEdge(t, {
    apps: {
      play: `${pull}\n${matrixLine('on_play', notify.port, '/play')}`,
      playign: `${pull}\n${matrixLine('on_play', notify.port, '/play')}\nignore_invalid_notify on;`,
      pub: matrixLine('on_publish', notify.port, '/publish'),
      pubign: `${matrixLine('on_publish', notify.port, '/publish')}\nignore_invalid_notify on;`,
      noupd: `on_play http://127.0.0.1:${notify.port}/noupd stage=start,done update=1s args=$pargs;`,
    },
  })
})

const originPlayed = (name: string): boolean => playedAt(origin, name)

/** When the answer (or the timeout) decides: how long after the start request the decision may come. */
function checkDecidedAt(t: Test, c: AnswerCase, ms: number, what: string): void {
  if (c.answer === 'hang') t.ok(ms >= TIMEOUT_MS - EARLY_MS && ms <= TIMEOUT_MS + LATE_MS, `${what} ${ms} ms after the start request (the 1 s timeout)`)
  else t.ok(ms >= 0 && ms <= PROMPT_MS, `${what} ${ms} ms after the start request (right after the answer)`)
}

/** After a refusal: act=done at once (or at the timeout), no act=update, no pull. */
async function checkRefusedAftermath(t: Test, c: AnswerCase, call: string, startLine: string, startAt: number): Promise<void> {
  const done = await requestWhere(notify, where(call, 'done', c.name), 0, TIMEOUT_MS + LATE_MS + 1000)
  t.equal(done.line, withAct(startLine, 'done'), 'act=done repeats the start request line')
  checkDecidedAt(t, c, done.at - startAt, 'act=done')
  t.ok(await absent(notify, where(call, 'update', c.name), NO_UPDATE_WATCH_MS), `no act=update within ${NO_UPDATE_WATCH_MS} ms`)
  t.equal(notify.requests.filter(where(call, 'done', c.name)).length, 1, 'one act=done')
  t.notOk(originPlayed(c.name), 'no pull: the origin never saw a play for this stream')
}

/**
 * After an acceptance: act=update after one period, repeating the start; act=done when the
 * client leaves. Accepted for want of an answer (ignore_invalid_notify), the done may come at
 * the timeout instead: the contract says done comes "at the timeout when there was no answer"
 * and "after an accepted session ends", and this case is both.
 */
async function checkAcceptedAftermath(t: Test, c: AnswerCase, call: string, startLine: string, startAt: number, leave: () => Promise<void>): Promise<void> {
  const update = await requestWhere(notify, where(call, 'update', c.name), 0, TIMEOUT_MS + UPDATE_MS + LATE_MS + 1000)
  t.equal(update.line, withAct(startLine, 'update'), 'act=update repeats the start request line')
  t.ok(update.at - startAt >= UPDATE_MS - EARLY_MS, `the first act=update came ${update.at - startAt} ms after the start (update=1s)`)
  if (c.answer !== 'hang') t.equal(notify.requests.filter(where(call, 'done', c.name)).length, 0, 'no act=done while the session lasts')
  const leftAt = Date.now()
  await leave()
  const done = await requestWhere(notify, where(call, 'done', c.name), 0, PROMPT_MS + 1000)
  t.equal(done.line, withAct(startLine, 'done'), 'act=done repeats the start request line')
  if (done.at < leftAt) checkDecidedAt(t, c, done.at - startAt, 'act=done (before the client left)')
  else t.ok(done.at - leftAt <= PROMPT_MS, `act=done ${done.at - leftAt} ms after the client left`)
}

async function rtmpPlayerCase(t: Test, c: AnswerCase): Promise<void> {
  const p = await rtmpClient(t, node.rtmpPort, c.app)
  const id = await clientIdFromLog(node.edge, p.socket.localPort ?? 0)
  const playing = later(p.play(`${c.name}?case=${c.answer}`))
  const start = await requestWhere(notify, where('play', 'start', c.name))
  t.equal(start.line, notifyLine('/play', 'play', 'start', { domain: '127.0.0.1', app: c.app, name: c.name, clientId: id }, `case=${c.answer}`),
    'the on_play start request line, clientid = the connection number')
  if (c.accepted) {
    const first = await playing
    const at = Date.now()
    t.same(statusInfo(first), PLAY_START, 'the first onStatus is Play.Start')
    checkDecidedAt(t, c, at - start.at, 'Play.Start')
    await p.until(() => p.messages.some((m) => m.typeId === MSG_VIDEO), MEDIA_WAIT_MS, 'video through the pull')
    t.ok(originPlayed(c.name), 'the pull started: the player gets video from the origin')
    await checkAcceptedAftermath(t, c, 'play', start.line, start.at, () => p.close())
  } else {
    const at = await closedAt(p, TIMEOUT_MS + LATE_MS + 2000)
    t.same(statuses(p), [PLAY_FORBIDDEN], 'only onStatus Play.Forbidden (level status, "Play stream Forbidden"), no Play.Start')
    checkDecidedAt(t, c, at - start.at, 'the close')
    t.equal(mediaCount(p), 0, 'no media')
    await checkRefusedAftermath(t, c, 'play', start.line, start.at)
  }
}

async function flvPlayerCase(t: Test, c: AnswerCase): Promise<void> {
  const h = await RawHttpClient.request(node.httpPort, `/flv/${c.name}?app=${c.app}&case=${c.answer}`)
  t.teardown(() => h.close())
  const start = await requestWhere(notify, where('play', 'start', c.name))
  const id = await clientIdFromLog(node.edge, h.localPort)
  // an HTTP-FLV $pargs is the whole query, app= included (§6.1)
  t.equal(start.line, notifyLine('/play', 'play', 'start', { domain: '127.0.0.1', app: c.app, name: c.name, clientId: id }, `app=${c.app}&case=${c.answer}`),
    'the on_play start request line, clientid = the connection number')
  await h.waitHead(TIMEOUT_MS + MEDIA_WAIT_MS)
  const at = Date.now()
  if (c.accepted) {
    t.equal(h.status, 200, 'HTTP 200')
    t.equal(h.header('Content-Type'), 'video/x-flv', 'an FLV body')
    t.ok(at - start.at >= (c.answer === 'hang' ? TIMEOUT_MS - EARLY_MS : 0), `the head came ${at - start.at} ms after the start request`)
    await h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO), MEDIA_WAIT_MS, 'video tags through the pull')
    t.ok(originPlayed(c.name), 'the pull started: the player gets video from the origin')
    await checkAcceptedAftermath(t, c, 'play', start.line, start.at, () => h.close())
  } else {
    t.equal(h.status, 503, 'HTTP 503')
    t.equal(h.header('Access-Control-Allow-Origin'), '*', 'with the flv CORS headers')
    checkDecidedAt(t, c, at - start.at, 'the 503')
    await checkRefusedAftermath(t, c, 'play', start.line, start.at)
  }
}

async function rtmpPublisherCase(t: Test, c: AnswerCase): Promise<void> {
  const p = await rtmpClient(t, node.rtmpPort, c.app)
  const id = await clientIdFromLog(node.edge, p.socket.localPort ?? 0)
  const publishing = later(p.publish(`${c.name}?case=${c.answer}`))
  const start = await requestWhere(notify, where('publish', 'start', c.name))
  t.equal(start.line, notifyLine('/publish', 'publish', 'start', { domain: '127.0.0.1', app: c.app, name: c.name, clientId: id }, `case=${c.answer}`),
    'the on_publish start request line, clientid = the connection number')
  if (c.accepted) {
    const first = await publishing
    const at = Date.now()
    t.same(statusInfo(first), PUBLISH_START, 'the first onStatus is Publish.Start')
    checkDecidedAt(t, c, at - start.at, 'Publish.Start')
    await checkAcceptedAftermath(t, c, 'publish', start.line, start.at, () => p.close())
  } else {
    const at = await closedAt(p, TIMEOUT_MS + LATE_MS + 2000)
    t.same(statuses(p), [PLAY_FORBIDDEN], 'only onStatus Play.Forbidden (not Publish.Forbidden), no Publish.Start')
    checkDecidedAt(t, c, at - start.at, 'the close')
    await checkRefusedAftermath(t, c, 'publish', start.line, start.at)
  }
}

const GROUPS = [
  ['on_play, RTMP player', answerCases('play', 'r'), rtmpPlayerCase],
  ['on_play, HTTP-FLV player', answerCases('play', 'h'), flvPlayerCase],
  ['on_publish, RTMP publisher', answerCases('pub', 'p'), rtmpPublisherCase],
] as const

for (const [title, list, run] of GROUPS) {
  t.test(`${title}: every answer`, { jobs: list.length }, async (t) => {
    for (const c of list) t.test(answerTitle(c, c.accepted ? 'accepted' : 'refused'), (t) => run(t, c))
  })
}

t.test('a client leaving while its start is pending: act=done, nothing left, the stream key is free again', async (t) => {
  // the same stream name is used again at once by a session the notify server accepts
  const player = await rtmpClient(t, node.rtmpPort, 'play')
  later(player.play('gone-r?case=hang'))
  const pStart = await requestWhere(notify, where('play', 'start', 'gone-r'))
  await player.close()
  const pLeft = Date.now()
  const pDone = await requestWhere(notify, where('play', 'done', 'gone-r'), 0, TIMEOUT_MS + LATE_MS)
  t.equal(pDone.line, withAct(pStart.line, 'done'), 'player: act=done repeats the start')
  t.ok(pDone.at - pLeft <= TIMEOUT_MS + LATE_MS, `player: act=done ${pDone.at - pLeft} ms after it left`)

  const publisher = await rtmpClient(t, node.rtmpPort, 'pub')
  later(publisher.publish('gone-p?case=hang'))
  const sStart = await requestWhere(notify, where('publish', 'start', 'gone-p'))
  await publisher.close()
  const sDone = await requestWhere(notify, where('publish', 'done', 'gone-p'), 0, TIMEOUT_MS + LATE_MS + 500)
  t.equal(sDone.line, withAct(sStart.line, 'done'), 'publisher: act=done repeats the start')

  const flv = await RawHttpClient.request(node.httpPort, '/flv/gone-h?app=play&case=hang')
  t.teardown(() => flv.close())
  const hStart = await requestWhere(notify, where('play', 'start', 'gone-h'))
  await flv.close()
  const hDone = await requestWhere(notify, where('play', 'done', 'gone-h'), 0, TIMEOUT_MS + LATE_MS + 500)
  t.equal(hDone.line, withAct(hStart.line, 'done'), 'HTTP-FLV player: act=done repeats the start')

  // past the timeouts of the abandoned starts: nothing more about them
  t.ok(await absent(notify, (r) => /name=gone-/.test(r.line), TIMEOUT_MS + LATE_MS), 'no request about the departed sessions after their done')
  t.equal(notify.requests.filter((r) => /name=gone-/.test(r.line)).length, 6, 'one start and one done each')
  t.notOk(originPlayed('gone-r') || originPlayed('gone-h'), 'no pull for the departed players')

  const again = await rtmpClient(t, node.rtmpPort, 'pub')
  t.same(statusInfo(await again.publish('gone-p?case=200')), PUBLISH_START, 'a new publisher of the same stream gets Publish.Start (not "Already publishing")')
  const viewer = await rtmpClient(t, node.rtmpPort, 'play')
  t.same(statusInfo(await viewer.play('gone-r?case=200')), PLAY_START, 'a new player of the same stream gets Play.Start')
})

t.test('stage=start,done update=1s: no act=update, act=done at the end', async (t) => {
  const p = await rtmpClient(t, node.rtmpPort, 'noupd')
  t.same(statusInfo(await p.play('nu')), PLAY_START, 'Play.Start')
  const start = await requestWhere(notify, where('play', 'start', 'nu'))
  t.ok(await absent(notify, where('play', 'update', 'nu'), 2 * UPDATE_MS + LATE_MS), `no act=update within ${2 * UPDATE_MS + LATE_MS} ms`)
  await p.close()
  const done = await requestWhere(notify, where('play', 'done', 'nu'), 0, PROMPT_MS + 1000)
  t.equal(done.line, withAct(start.line, 'done'), 'act=done repeats the start')
})
