// Push legs and the stream they serve (issue 11): a push started by on_meta's 3xx, timestamps
// that never go back on a push connection when the stream's publisher changes under it, and a
// pulled stream that is not pushed (observed §14.3). Edge pushes into a second edge; what that
// edge's players receive is what is asserted.
import t from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { freePort } from '../helpers/node.js'
import { notifyServer, rtmpClient, sendAudioHeader, sendMetadata, sendVideoHeader, startNotifyEdge } from '../helpers/notify.js'
import { reply, testMediaTags } from '../helpers/origins.js'
import type { Received, RtmpTestClient } from '../helpers/rtmp-client.js'

const WAIT_MS = 8000
/** how often the test publishers send a frame */
const FRAME_MS = 40
/** the test media's keyframe interval (50 frames at FRAME_MS) */
const GOP_MS = 2000
/** the largest step between two frames a player may see across a change of publisher: a GOP (the wait for a keyframe) and slack */
const MAX_GAP_MS = GOP_MS + 500
/** keyframes the first publisher sends before the switch in the GOP-cache case: a run of seconds */
const LONG_RUN_KEYFRAMES = 3
/** a negative check: how long a push that should not start is given */
const NO_PUSH_MS = 1500

/** Video frames (no sequence header) of the test media, keyframe first. */
function videoFrames(): Buffer[] {
  const frames = testMediaTags().filter((tag) => tag.typeId === MSG_VIDEO && tag.payload[1] === 1).map((tag) => tag.payload)
  const firstKey = frames.findIndex((p) => p[0] >> 4 === 1)
  return frames.slice(firstKey)
}

/**
 * Publishes the test media's video from `c`, one frame per FRAME_MS with timestamps from `fromTs`,
 * looping (keyframes come back with the media's GOP); returns the stop function.
 */
function pump(c: RtmpTestClient, fromTs: number): () => void {
  const frames = videoFrames()
  let i = 0
  const timer = setInterval(() => {
    if (c.closed) return
    c.send(7, MSG_VIDEO, 1, fromTs + i * FRAME_MS, frames[i % frames.length])
    i++
  }, FRAME_MS)
  return () => clearInterval(timer)
}

function isVideoFrame(m: Received): boolean {
  return m.typeId === MSG_VIDEO && m.payload[1] === 1
}

function isKeyframe(m: Received): boolean {
  return isVideoFrame(m) && m.payload[0] >> 4 === 1
}

t.test('on_meta answered 302 with an rtmp:// Location pushes the stream there', async (t) => {
  const target = await startNotifyEdge(t, { apps: { live: '' } })
  const notify = await notifyServer(t, reply(302, { Location: `rtmp://127.0.0.1:${target.rtmpPort}/live/metapushed` }))
  const source = await startNotifyEdge(t, { apps: { mp: `on_meta http://127.0.0.1:${notify.port}/meta;` } })

  const player = await rtmpClient(t, target.rtmpPort, 'live')
  t.equal((await player.play('metapushed')).values?.[0], 'onStatus', 'the target lets a player wait for the stream')

  const publisher = await rtmpClient(t, source.rtmpPort, 'mp')
  await publisher.publish('s2')
  sendMetadata(publisher)
  sendVideoHeader(publisher)
  sendAudioHeader(publisher)
  const stop = pump(publisher, 0)
  t.teardown(stop)

  await player.next(isKeyframe, WAIT_MS)
  t.pass('the target\'s player got a keyframe pushed by the on_meta leg')
  t.ok(notify.requests.some((r) => r.line.startsWith('GET /meta?call=meta&act=start')), 'on_meta was asked')
  t.notOk(publisher.closed, 'the publisher is not refused by the 302')
  await source.edge.waitForLog(/push: publishing, app: mp, name: s2/, WAIT_MS)
})

for (const cached of [false, true]) {
  t.test(`a push connection's timestamps never go back, nor jump, when the publisher changes under it${cached ? ' (GOP cache, a long first run)' : ''}`, async (t) => {
    const target = await startNotifyEdge(t, { apps: { live: '' } })
    const source = await startNotifyEdge(t, { apps: { pp: `${cached ? 'cache_time 3s;\n            ' : ''}push rtmp://127.0.0.1:${target.rtmpPort} app=live;` } })

    const player = await rtmpClient(t, target.rtmpPort, 'live')
    await player.play('s1')

    const first = await rtmpClient(t, source.rtmpPort, 'pp')
    await first.publish('s1')
    sendVideoHeader(first, 10_000)
    t.teardown(pump(first, 10_000))
    await player.next(isKeyframe, WAIT_MS)
    // with the cache, the first publisher's stored header is old by the time the stream comes back to it
    if (cached) await player.until(() => player.messages.filter(isKeyframe).length >= LONG_RUN_KEYFRAMES, WAIT_MS, 'a long first run')
    const switchAt = player.messages.length

    // a higher pubpri takes the stream over with a clock that starts again at 0
    const second = await rtmpClient(t, source.rtmpPort, 'pp')
    await second.publish('s1?pubpri=1')
    sendVideoHeader(second, 0)
    t.teardown(pump(second, 0))
    // the second publisher's frames: a keyframe after the switch, then a few more frames
    const key = await player.next(isKeyframe, WAIT_MS, switchAt)
    await player.until(() => player.messages.slice(player.messages.indexOf(key)).filter(isVideoFrame).length >= 10, WAIT_MS, 'frames after the switch')

    // it leaves: the first publisher's clock (which went on meanwhile) is back
    const backAt = player.messages.length
    await second.close()
    const again = await player.next(isKeyframe, WAIT_MS, backAt)
    await player.until(() => player.messages.slice(player.messages.indexOf(again)).filter(isVideoFrame).length >= 10, WAIT_MS, 'frames after the way back')

    const times = player.messages.filter((m) => m.typeId === MSG_VIDEO || m.typeId === MSG_AUDIO).map((m) => m.timestamp)
    const back = times.findIndex((ts, i) => i > 0 && ts < times[i - 1])
    t.equal(back, -1, `timestamps never go back (${back === -1 ? '' : `${times[back - 1]} then ${times[back]}`})`)
    t.ok(times[times.length - 1] >= 10_000, 'they go on from the first publisher\'s clock')
    const jump = Math.max(...times.map((ts, i) => (i === 0 ? 0 : ts - times[i - 1])))
    t.ok(jump < MAX_GAP_MS, `no jump forward either (largest step ${jump} ms)`)
    t.equal(target.edge.log().match(/publish: name='s1'/g)?.length, 1, 'one push connection served both publishers')
  })
}

t.test('a publisher whose clock goes back is pushed with timestamps that go on rising', async (t) => {
  const target = await startNotifyEdge(t, { apps: { live: '' } })
  const source = await startNotifyEdge(t, { apps: { pp: `push rtmp://127.0.0.1:${target.rtmpPort} app=live;` } })
  const player = await rtmpClient(t, target.rtmpPort, 'live')
  await player.play('s1')

  const publisher = await rtmpClient(t, source.rtmpPort, 'pp')
  await publisher.publish('s1')
  sendVideoHeader(publisher, 30_000)
  const stopFirst = pump(publisher, 30_000)
  t.teardown(stopFirst)
  await player.next(isKeyframe, WAIT_MS)
  // the encoder restarts its clock at 0 on the same connection
  stopFirst()
  const resetAt = player.messages.length
  t.teardown(pump(publisher, 0))
  await player.until(() => player.messages.slice(resetAt).filter(isVideoFrame).length >= 20, WAIT_MS, 'frames after the reset')

  const after = player.messages.slice(resetAt).filter(isVideoFrame).map((m) => m.timestamp)
  const before = player.messages.slice(0, resetAt).filter(isVideoFrame).map((m) => m.timestamp)
  t.ok(after[0] >= before[before.length - 1], `they go on from where the connection was (${before[before.length - 1]} then ${after[0]})`)
  t.ok(after.every((ts, i) => i === 0 || ts > after[i - 1]), `and keep rising frame by frame (${after.slice(0, 5).join(', ')} …)`)
})

t.test('a target that accepts the publish and drops it right after the cached burst is retried with back-off', async (t) => {
  // the target's on_meta refuses: it closes the push at its first sequence header
  const refuser = await notifyServer(t, reply(403))
  const target = await startNotifyEdge(t, { apps: { live: `on_meta http://127.0.0.1:${refuser.port}/m;\n            on_meta_type both;` } })
  const source = await startNotifyEdge(t, { apps: { pp: `cache_time 3s;\n            push rtmp://127.0.0.1:${target.rtmpPort} app=live;` } })
  const publisher = await rtmpClient(t, source.rtmpPort, 'pp')
  await publisher.publish('s1')
  sendVideoHeader(publisher)
  t.teardown(pump(publisher, 0))
  await source.edge.waitForLog(/push: retry in 100 ms/, WAIT_MS)
  const attempts = source.edge.log().match(/push: rtmp:/g)?.length ?? 0
  t.ok(attempts <= 4, `a few attempts, not a storm (${attempts} before the third back-off)`)
})

t.test('a pulled stream is not pushed (observed §14.3)', async (t) => {
  const origin = await startNotifyEdge(t, { apps: { live: '', pushed: '' } })
  const port = origin.rtmpPort
  const edge = await startNotifyEdge(t, {
    apps: { pp: `pull rtmp://127.0.0.1:${port} app=live;\n            push rtmp://127.0.0.1:${port} app=pushed;` },
  })
  const publisher = await rtmpClient(t, port, 'live')
  await publisher.publish('s1')
  sendVideoHeader(publisher)
  const stop = pump(publisher, 0)
  t.teardown(stop)

  const player = await rtmpClient(t, edge.rtmpPort, 'pp')
  await player.play('s1')
  await player.next(isKeyframe, WAIT_MS)
  t.pass('the player gets the pulled stream')
  await t.rejects(origin.edge.waitForLog(/app='pushed'/, NO_PUSH_MS), 'the push target got no connection')
  t.notMatch(edge.edge.log(), /push: rtmp:/, 'the edge started no push leg')
})

t.test('push and on_push are acted on: edge -t names no push directive as unimplemented', async (t) => {
  const port = await freePort()
  const source = await startNotifyEdge(t, {
    apps: { pp: `push rtmp://127.0.0.1:${port} app=live;\n            on_push http://127.0.0.1:${port}/p;` },
  })
  t.notMatch(source.edge.log(), /not implemented[^\n]*push/, 'no start-up warning names push or on_push')
})
