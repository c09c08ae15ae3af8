// on_stream and on_meta answers (issue 10; pingos-behaviour.md §4.4, §4.5; pingos-observed.md
// §12, §13.2, §13.3): every answer to `act=start` (200, 300, 302, 403, 404, 500, none), with
// and without `ignore_invalid_notify on`. One edge, an application per (notification,
// ignore_invalid_notify) pair, each line `stage=start,update,done update=1s timeout=1s
// args=$pargs`; the notify server answers as the `case=` in the client's query says. The
// subtests of a group run in parallel, each on its own stream name.
//
// What edge must do (contract of issue 10):
//   - on_stream, for an RTMP player and an RTMP publisher creating the stream: one start
//     request per stream, whose answer never blocks or refuses anything (Play.Start /
//     Publish.Start come at once, even while the server stays silent); `act=update` only after
//     exactly 200, repeating the start line even after its session left; `act=done` when the
//     stream empties, with the clientid and variables of the last session to leave;
//   - on_meta, for an RTMP publisher: the start request comes at its first video sequence
//     header (not at its metadata or audio header); an answer outside 200..300, or none
//     without ignore_invalid_notify, disconnects the publisher with onStatus Play.Forbidden
//     (level status) then close; accepted: `act=update` every 1 s; `act=done` in every case
//     when the publisher's session ends;
//   - update and done repeat the start request line byte for byte except `act=`.
import t, { type Test } from 'tap'
import {
  absent, byCase, clientIdFromLog, closedAt, notifyLine, notifyServer, PLAY_FORBIDDEN, PLAY_START,
  PUBLISH_START, rtmpClient, sendAudioHeader, sendMetadata, sendVideoHeader, startNotifyEdge, where, withAct,
  type NotifyEdge,
  EARLY_MS, LATE_MS, NO_UPDATE_WATCH_MS, PROMPT_MS, TIMEOUT_MS, UPDATE_MS, ANSWERS, answerCases, answerTitle, matrixLine, type AnswerCase,
} from '../helpers/notify.js'
import type { RecordingHttpServer } from '../helpers/origins.js'
import { requestWhere, statuses, statusInfo } from '../helpers/pull-scenarios.js'
import type { RtmpTestClient } from '../helpers/rtmp-client.js'

/** how long a publisher's metadata and audio header are watched for an (unwanted) on_meta start */
const NO_META_WATCH_MS = 500

let notify: RecordingHttpServer
let node: NotifyEdge

t.before(async () => {
  notify = await notifyServer(t, byCase)
  node = await startNotifyEdge(t, {
    apps: {
      stream: matrixLine('on_stream', notify.port, '/stream'),
      streamign: `${matrixLine('on_stream', notify.port, '/stream')}\nignore_invalid_notify on;`,
      meta: matrixLine('on_meta', notify.port, '/meta'),
      metaign: `${matrixLine('on_meta', notify.port, '/meta')}\nignore_invalid_notify on;`,
    },
  })
})

/** on_stream: start before the session's status, never blocking; updates only after 200; done when the client leaves. */
async function streamCase(t: Test, c: AnswerCase, role: 'player' | 'publisher'): Promise<void> {
  const p = await rtmpClient(t, node.rtmpPort, c.app)
  const id = await clientIdFromLog(node.edge, p.socket.localPort ?? 0)
  const target = `${c.name}?case=${c.answer}`
  const first = await (role === 'player' ? p.play(target) : p.publish(target))
  const at = Date.now()
  const start = await requestWhere(notify, where('stream', 'start', c.name))
  t.equal(start.line, notifyLine('/stream', 'stream', 'start', { domain: '127.0.0.1', app: c.app, name: c.name, clientId: id }, `case=${c.answer}`),
    'the on_stream start request line, clientid = the connection number')
  t.same(statusInfo(first), role === 'player' ? PLAY_START : PUBLISH_START, `${role === 'player' ? 'Play.Start' : 'Publish.Start'}, whatever the answer`)
  t.ok(at - start.at <= PROMPT_MS, `and without waiting for it: ${at - start.at} ms after the start request`)

  if (c.answer === '200') {
    const update = await requestWhere(notify, where('stream', 'update', c.name), 0, UPDATE_MS + LATE_MS + 1000)
    t.equal(update.line, withAct(start.line, 'update'), 'act=update (after exactly 200) repeats the start request line')
    t.ok(update.at - start.at >= UPDATE_MS - EARLY_MS, `the first act=update came ${update.at - start.at} ms after the start (update=1s)`)
  } else {
    t.ok(await absent(notify, where('stream', 'update', c.name), NO_UPDATE_WATCH_MS), `no act=update (the answer was not exactly 200) within ${NO_UPDATE_WATCH_MS} ms`)
  }
  t.notOk(p.closed, `the ${role} is still connected`)
  t.same(statuses(p), [statusInfo(first)], 'with no other onStatus')
  t.equal(notify.requests.filter(where('stream', 'done', c.name)).length, 0, 'no act=done while the stream has a client')

  const leftAt = Date.now()
  await p.close()
  const done = await requestWhere(notify, where('stream', 'done', c.name), 0, PROMPT_MS + 1000)
  t.equal(done.line, withAct(start.line, 'done'), 'act=done (the stream is empty) repeats the start request line')
  t.ok(done.at - leftAt <= PROMPT_MS, `act=done ${done.at - leftAt} ms after the client left`)
  t.equal(notify.requests.filter(where('stream', 'start', c.name)).length, 1, 'one act=start for the stream')
}

/** on_meta: start at the first video sequence header; refusal disconnects the publisher. */
async function metaCase(t: Test, c: AnswerCase): Promise<void> {
  const p = await rtmpClient(t, node.rtmpPort, c.app)
  const id = await clientIdFromLog(node.edge, p.socket.localPort ?? 0)
  t.same(statusInfo(await p.publish(`${c.name}?case=${c.answer}`)), PUBLISH_START, 'Publish.Start (on_meta does not gate the publish)')
  sendMetadata(p)
  sendAudioHeader(p)
  t.ok(await absent(notify, where('meta', 'start', c.name), NO_META_WATCH_MS), 'no on_meta request for the metadata and the audio header (on_meta_type video)')
  sendVideoHeader(p)
  const start = await requestWhere(notify, where('meta', 'start', c.name))
  t.equal(start.line, notifyLine('/meta', 'meta', 'start', { domain: '127.0.0.1', app: c.app, name: c.name, clientId: id }, `case=${c.answer}`),
    'the on_meta start request line, at the video sequence header')

  if (c.accepted) {
    const update = await requestWhere(notify, where('meta', 'update', c.name), 0, TIMEOUT_MS + UPDATE_MS + LATE_MS + 1000)
    t.equal(update.line, withAct(start.line, 'update'), 'act=update repeats the start request line')
    t.ok(update.at - start.at >= UPDATE_MS - EARLY_MS, `the first act=update came ${update.at - start.at} ms after the start (update=1s)`)
    t.notOk(p.closed, 'the publisher is still connected')
    t.same(statuses(p), [PUBLISH_START], 'with no other onStatus')
    const leftAt = Date.now()
    await p.close()
    const done = await requestWhere(notify, where('meta', 'done', c.name), 0, PROMPT_MS + 1000)
    t.equal(done.line, withAct(start.line, 'done'), 'act=done at the publisher\'s close repeats the start request line')
    t.ok(done.at - leftAt <= PROMPT_MS, `act=done ${done.at - leftAt} ms after the publisher left`)
  } else {
    const at = await closedAt(p, TIMEOUT_MS + LATE_MS + 2000)
    const ms = at - start.at
    if (c.answer === 'hang') t.ok(ms >= TIMEOUT_MS - EARLY_MS && ms <= TIMEOUT_MS + LATE_MS, `the publisher was disconnected ${ms} ms after the start request (the 1 s timeout)`)
    else t.ok(ms <= PROMPT_MS, `the publisher was disconnected ${ms} ms after the start request (right after the answer)`)
    t.same(statuses(p), [PUBLISH_START, PLAY_FORBIDDEN], 'after Publish.Start: onStatus Play.Forbidden (level status), then the close')
    const done = await requestWhere(notify, where('meta', 'done', c.name), 0, PROMPT_MS + 1000)
    t.equal(done.line, withAct(start.line, 'done'), 'act=done at the publisher\'s close repeats the start request line')
    t.ok(done.at - at <= PROMPT_MS, `act=done ${done.at - at} ms after the close`)
    t.ok(await absent(notify, where('meta', 'update', c.name), NO_UPDATE_WATCH_MS), `no act=update within ${NO_UPDATE_WATCH_MS} ms`)
  }
  t.equal(notify.requests.filter(where('meta', 'start', c.name)).length, 1, 'one act=start (on_meta_once on)')
  t.equal(notify.requests.filter(where('meta', 'done', c.name)).length, 1, 'one act=done')
}

const streamCases = (prefix: string): AnswerCase[] => answerCases('stream', prefix)

t.test('on_stream, RTMP player: every answer, the player plays', { jobs: ANSWERS.length * 2 }, async (t) => {
  for (const c of streamCases('sr')) t.test(answerTitle(c, c.answer === '200' ? 'updates' : 'no updates'), (t) => streamCase(t, c, 'player'))
})

t.test('on_stream, RTMP publisher: every answer, the publisher publishes', { jobs: ANSWERS.length * 2 }, async (t) => {
  for (const c of streamCases('sp')) t.test(answerTitle(c, c.answer === '200' ? 'updates' : 'no updates'), (t) => streamCase(t, c, 'publisher'))
})

t.test('on_meta, RTMP publisher: every answer', { jobs: ANSWERS.length * 2 }, async (t) => {
  for (const c of answerCases('meta', 'm')) t.test(answerTitle(c, c.accepted ? 'kept' : 'disconnected'), (t) => metaCase(t, c))
})

t.test('on_stream: one start per stream; updates keep the start line after its session left; done from the last to leave', async (t) => {
  const publisher = await rtmpClient(t, node.rtmpPort, 'stream')
  t.same(statusInfo(await publisher.publish('shared?case=200&who=pub')), PUBLISH_START, 'the publisher creates the stream')
  const start = await requestWhere(notify, where('stream', 'start', 'shared'))
  t.match(start.line, /&case=200&who=pub HTTP\/1\.1$/, 'act=start carries the creating session\'s args')
  const player: RtmpTestClient = await rtmpClient(t, node.rtmpPort, 'stream')
  const playerId = await clientIdFromLog(node.edge, player.socket.localPort ?? 0)
  t.same(statusInfo(await player.play('shared?case=200&who=player')), PLAY_START, 'a player joins')
  await publisher.close()
  const leftAt = Date.now()
  t.ok(await absent(notify, where('stream', 'done', 'shared'), PROMPT_MS), 'no act=done while the player remains')
  // observed §13.2 (and §17.4): updates repeat the start URL, the departed publisher's included
  const update = await requestWhere(notify, (r) => where('stream', 'update', 'shared')(r) && r.at > leftAt, 0, UPDATE_MS + LATE_MS + 1000)
  t.equal(update.line, withAct(start.line, 'update'), 'an act=update after the publisher left still repeats its start line')
  await player.close()
  const done = await requestWhere(notify, where('stream', 'done', 'shared'), 0, PROMPT_MS + 1000)
  t.equal(notify.requests.filter(where('stream', 'start', 'shared')).length, 1, 'one act=start for the stream\'s lifetime')
  t.equal(done.line, notifyLine('/stream', 'stream', 'done', { domain: '127.0.0.1', app: 'stream', name: 'shared', clientId: playerId }, 'case=200&who=player'),
    'act=done carries the clientid and args of the last session to leave (the player)')
})
