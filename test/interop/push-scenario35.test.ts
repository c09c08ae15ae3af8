// §13 scenario 35 (static push) as written, with pingos-observed.md §14.1 and the contract of
// issue 11 (items 2, 5, 6): a real ffmpeg publishes `push/s1?x=1` into an edge whose app has
// `push rtmp://127.0.0.1:<target> app=live;`; the scripted target (test/helpers/push-target.ts)
// logs what arrives. Then the three push-line variants of §14.1's table in one app, and a
// target that refuses the publish (NetStream.Publish.BadName as onStatus, and as `_error`, then
// the other codes of contract item 5): the local publisher gets that same status and is
// disconnected; any other error code is ignored. Contract item 2's GOP burst for a late leg. Last, §14.3's last bullet: a
// stream whose publisher is a pull leg is not pushed.
import { existsSync } from 'node:fs'
import t, { type Test } from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { publish } from '../helpers/node.js'
import { startNotifyEdge, type NotifyEdge } from '../helpers/notify.js'
import { FakeRtmpOrigin } from '../helpers/origins.js'
import { mediaCount, nextStatus, statusInfo } from '../helpers/pull-scenarios.js'
import { localPlayer, pacedPublisher, streamLines } from '../helpers/push-scenarios.js'
import {
  commandsOf, connectObject, describeEvent, mediaOf, publishedName, pushTarget, type PushTarget, type TargetConnection,
  type PushTargetAnswer, type TargetEvent,
} from '../helpers/push-target.js'

const FFMPEG = '/usr/bin/ffmpeg'
/** bound on ffmpeg starting, the edge's publish and the push connection */
const PUSH_WAIT_MS = 15_000
/** media messages the target must receive (about 2 s of the test media) */
const MEDIA_MESSAGES = 120
/** the push legs close in this time after the publisher left (observed: the same ms) */
const CLOSE_WITHIN_MS = 1000
/** "three parallel connections in the same ms" (§14.1), with room for a loaded machine */
const PARALLEL_WITHIN_MS = 100
/** the refused publisher is disconnected this soon after its status (observed: 4 ms) */
const KICK_WITHIN_MS = 1000
/** relay_reconnect (default 3s), and how far from it an attempt may end here */
const RELAY_RECONNECT_MS = 3000
const DEADLINE_TOLERANCE_MS = 400
/** five frames of a 25 fps stream in real time take 160 ms; a cached burst far less */
const GOP_BURST_MIN_MS = 100
/** how long a pulled stream is watched for a (wrong) push connection */
const NOT_PUSHED_WATCH_MS = 3000
/** the 7 connect keys in order (contract item 2) */
const CONNECT_KEYS = ['app', 'tcUrl', 'pageUrl', 'swfUrl', 'flashVer', 'audioCodecs', 'videoCodecs']

const noFfmpeg = existsSync(FFMPEG) ? false : `not installed: ${FFMPEG}`

/** ffmpeg looping the test media into `push/s1?x=1` of the edge, stopped in teardown. */
function ffmpegPublisher(t: Test, edge: NotifyEdge, app = 'push', name = 's1?x=1'): ReturnType<typeof publish> {
  const p = publish(`rtmp://127.0.0.1:${edge.rtmpPort}/${app}/${name}`)
  t.teardown(() => p.stop())
  return p
}

/** Waits for `n` push connections that each got MEDIA_MESSAGES media messages. */
async function pushedMedia(target: PushTarget, n: number): Promise<TargetConnection[]> {
  await target.until(() => target.connections.length >= n && target.connections.slice(0, n).every((c) => mediaOf(c).length >= MEDIA_MESSAGES),
    PUSH_WAIT_MS, `media on ${n} push connection(s)`)
  return target.connections.slice(0, n)
}

/** The non-Ack events of a connection (Acks depend on how much the target wrote). */
const withoutAcks = (c: TargetConnection): TargetEvent[] => c.events.filter((e) => e.kind !== 'ack')

t.test('scenario 35: what the target receives from a static push', { skip: noFfmpeg, timeout: 60_000 }, async (t) => {
  const target = await pushTarget(t)
  const node = await startNotifyEdge(t, { apps: { push: `push rtmp://127.0.0.1:${target.port} app=live;` } })
  const publisher = ffmpegPublisher(t, node)
  const [c] = await pushedMedia(target, 1)
  const events = withoutAcks(c)
  t.comment(`target log: ${events.slice(0, 12).map(describeEvent).join(' | ')}`)

  // §14.1: Set Chunk Size, Window Ack Size, connect, createStream, publish, in that order
  t.same(events.slice(0, 5).map((e) => e.kind === 'command' ? `${e.name} txn ${e.transactionId}` : describeEvent(e)),
    ['set-chunk-size 4096', 'window-ack-size 5000000', 'connect txn 1', 'createStream txn 2', 'publish txn 0'],
    'Set Chunk Size 4096, Window Ack Size 5000000, connect(1), createStream(2), publish(0), in order')
  const o = connectObject(c) ?? {}
  t.same(Object.keys(o), CONNECT_KEYS, 'connect has exactly the 7 keys, in order')
  t.equal(o.app, 'live', 'connect app "live" (app=)')
  t.equal(o.tcUrl, 'rtmp://127.0.0.1/live', 'tcUrl rtmp://127.0.0.1/live (the publisher\'s host, no port)')
  t.equal(o.pageUrl, '', 'pageUrl ""')
  t.equal(o.swfUrl, '', 'swfUrl ""')
  t.match(String(o.flashVer), /^FMLE\/3\.0 \(compatible; Lavf/, `flashVer is ffmpeg's (${String(o.flashVer)})`)
  t.equal(o.audioCodecs, 3575, 'audioCodecs 3575 (ffmpeg sends none)')
  t.equal(o.videoCodecs, 252, 'videoCodecs 252')
  const cmds = commandsOf(c)
  const create = cmds.find((e) => e.name === 'createStream')
  t.equal(create?.object, null, 'createStream(2, null)')
  const pub = cmds.find((e) => e.name === 'publish')
  t.same(pub === undefined ? null : { object: pub.object, args: pub.args, csid: pub.csid, streamId: pub.streamId },
    { object: null, args: ['s1?x=1', 'live'], csid: 5, streamId: 1 }, 'publish(0, null, "s1?x=1", "live") on chunk stream 5, message stream 1')
  t.same(cmds.filter((e) => /^(releaseStream|FCPublish)$/.test(e.name)).map((e) => e.name), [], 'no releaseStream or FCPublish')

  // after Publish.Start: StreamBegin(1) first, then metadata (Server first), headers and media
  const iPub = events.findIndex((e) => e.kind === 'command' && e.name === 'publish')
  const after = events.slice(iPub + 1)
  t.equal(after[0] === undefined ? '' : describeEvent(after[0]), 'user-control 0(1)', 'the first message after publish is User Control StreamBegin(1)')
  const early = c.events.filter((e) => (e.kind === 'media' || e.kind === 'data') && e.at < (c.publishStartAt ?? Infinity))
  t.equal(early.length, 0, 'no data or media before the target answered Publish.Start')
  const meta = after.find((e): e is Extract<TargetEvent, { kind: 'data' }> => e.kind === 'data')
  t.equal(meta?.values[0], 'onMetaData', 'onMetaData is sent (type 18)')
  t.equal(Object.keys((meta?.values[1] ?? {}) as object)[0], 'Server', 'rewritten as players get it: first key Server')
  const media = mediaOf(c)
  const firstVideo = media.find((m) => m.typeId === MSG_VIDEO)
  const firstAudio = media.find((m) => m.typeId === MSG_AUDIO)
  t.same(firstVideo?.head, [0x17, 0], 'the first video message is the AVC sequence header')
  t.same(firstAudio?.head.slice(1), [0], 'the first audio message is the AAC sequence header')
  t.ok(media.some((m) => m.typeId === MSG_VIDEO && m.head[1] === 1) && media.some((m) => m.typeId === MSG_AUDIO && m.head[1] === 1),
    'audio and video frames flow')
  t.ok(media.every((m) => m.streamId === 1), 'media on message stream 1')
  for (const typeId of [MSG_AUDIO, MSG_VIDEO]) {
    const ts = media.filter((m) => m.typeId === typeId).map((m) => m.timestamp)
    const back = ts.findIndex((v, i) => i > 0 && v < ts[i - 1])
    t.equal(back, -1, `${typeId === MSG_AUDIO ? 'audio' : 'video'} timestamps never go backwards${back === -1 ? '' : ` (${ts[back - 1]} → ${ts[back]})`}`)
  }

  // contract item 6: the leg's log lines
  const log = node.edge.log().split('\n')
  t.equal(streamLines(log, 'push', 's1', new RegExp(`push: rtmp://127\\.0\\.0\\.1:${target.port} app='live' name='s1' args='x=1' domain='127\\.0\\.0\\.1'`)).length, 1,
    'one log line naming the target, app, name, args and domain')
  t.equal(streamLines(log, 'push', 's1', /push: publishing/).length, 1, 'one `push: publishing` line')

  // the publisher leaves → the leg closes
  const stoppedAt = Date.now()
  await publisher.stop()
  t.ok(await target.closed(c, CLOSE_WITHIN_MS + 1000), 'the push connection closed once the publisher left')
  t.ok((c.closedAt ?? Infinity) - stoppedAt <= CLOSE_WITHIN_MS, `within ${Math.round((c.closedAt ?? NaN) - stoppedAt)} ms (bound ${CLOSE_WITHIN_MS})`)
  await node.edge.waitForLog(/push: stopped: [^\n]*app: push, name: s1/, CLOSE_WITHIN_MS)
  t.equal(target.connections.length, 1, 'one push connection in all')
})

t.test('§14.1 table: three push lines in one app, three parallel legs', { skip: noFfmpeg, timeout: 60_000 }, async (t) => {
  const target = await pushTarget(t)
  const p = target.port
  const node = await startNotifyEdge(t, {
    apps: {
      push: [
        `push rtmp://127.0.0.1:${p} app=live;`,
        `push rtmp://127.0.0.1:${p}/other/zzz;`,
        `push rtmp://127.0.0.1:${p} app=live name=renamed pargs=a=1 domain=cdn.example;`,
      ].join('\n            '),
    },
  })
  const publisher = ffmpegPublisher(t, node)
  const conns = await pushedMedia(target, 3)
  const seen = conns.map((c) => {
    const o = connectObject(c) ?? {}
    return `${String(o.app)} ${String(o.tcUrl)} ${publishedName(c) ?? ''}`
  }).sort()
  t.same(seen, [
    'live rtmp://127.0.0.1/live s1?x=1',
    'live rtmp://cdn.example/live renamed?a=1',
    'push rtmp://127.0.0.1/push s1?x=1',
  ], 'connect app / tcUrl / publish name as in §14.1\'s table (URL path ignored; name=, pargs=, domain= applied)')
  const opened = conns.map((c) => c.openedAt)
  const spread = Math.round(Math.max(...opened) - Math.min(...opened))
  t.ok(spread <= PARALLEL_WITHIN_MS, `the three connections opened within ${spread} ms of each other (bound ${PARALLEL_WITHIN_MS})`)
  t.equal(target.connections.length, 3, 'exactly three push connections')

  // contract item 3: the publisher leaves → every leg closes at once
  await publisher.stop()
  t.ok(await target.until(() => conns.every((c) => c.closedAt !== null), CLOSE_WITHIN_MS + 1000, 'all three closed').then(() => true, () => false),
    'the three legs closed when the publisher left')
  const closed = conns.map((c) => c.closedAt ?? NaN)
  const closeSpread = Math.round(Math.max(...closed) - Math.min(...closed))
  t.ok(closeSpread <= PARALLEL_WITHIN_MS, `within ${closeSpread} ms of each other (observed: the same ms)`)
  t.ok(conns.every((c) => !c.closedByUs), 'closed by the edge')
})

/** A refusal the target answers publish with, and the status the local publisher must get. */
interface Refusal {
  readonly title: string
  readonly command: 'onStatus' | '_error'
  readonly code: string
  readonly description: string
}

/** Scenario 35's BadName as onStatus and as _error, then the other codes of contract item 5. */
const REFUSALS: readonly Refusal[] = [
  { title: 'onStatus NetStream.Publish.BadName (level error)', command: 'onStatus', code: 'NetStream.Publish.BadName', description: 'Already publishing' },
  { title: '_error NetStream.Publish.BadName', command: '_error', code: 'NetStream.Publish.BadName', description: 'Already publishing' },
  { title: 'onStatus NetStream.Stream.Forbidden', command: 'onStatus', code: 'NetStream.Stream.Forbidden', description: 'forbidden' },
  { title: 'onStatus NetStream.Play.StreamNotFound', command: 'onStatus', code: 'NetStream.Play.StreamNotFound', description: 'no such stream' },
  { title: 'onStatus NetStream.Relay.ServerError', command: 'onStatus', code: 'NetStream.Relay.ServerError', description: 'server error' },
]

const answerOf = (r: Refusal): PushTargetAnswer => r.command === '_error'
  ? { kind: 'error', code: r.code, description: r.description }
  : { kind: 'status', level: 'error', code: r.code, description: r.description }

for (const refusal of REFUSALS) {
  t.test(`scenario 35: the target answers ${refusal.title} → the local publisher gets it and is disconnected`, { timeout: 30_000 }, async (t) => {
    const target = await pushTarget(t, answerOf(refusal))
    const node = await startNotifyEdge(t, { apps: { push: `push rtmp://127.0.0.1:${target.port} app=live;` } })
    const pub = await pacedPublisher(t, node.rtmpPort, 'push', 's1?x=1')
    t.equal(pub.firstStatus.code, 'NetStream.Publish.Start', 'the publisher had Publish.Start')
    const c = await target.connection(0, PUSH_WAIT_MS)
    await target.until(() => commandsOf(c).some((e) => e.name === 'publish'), PUSH_WAIT_MS, 'publish')
    const got = await nextStatus(pub.client, refusal.code, PUSH_WAIT_MS)
    const gotAt = Date.now()
    t.equal(got.values?.[0], refusal.command, `the publisher got it as ${refusal.command}`)
    t.same(statusInfo(got), { level: 'error', code: refusal.code, description: refusal.description },
      'the same level, code and description as the target sent')
    await pub.client.until(() => pub.client.closed, KICK_WITHIN_MS, 'the edge to close the publisher')
    t.ok(Date.now() - gotAt <= KICK_WITHIN_MS, `and was disconnected ${Date.now() - gotAt} ms later`)
    t.ok(await target.closed(c, KICK_WITHIN_MS), 'the push leg closed')
    const line = `push: target answered ${refusal.code} "${refusal.description}"`
    await node.edge.waitForLog(new RegExp(`${line.replace(/\./g, '\\.')}[^\\n]*app: push, name: s1`), KICK_WITHIN_MS)
    t.pass(`edge logged \`${line}\``)
    t.equal(target.connections.length, 1, 'no further attempt')
  })
}

t.test('another error code (NetStream.Publish.Denied) is ignored: the publisher stays, the attempt ends at relay_reconnect and is retried', { timeout: 30_000 }, async (t) => {
  const target = await pushTarget(t, { kind: 'status', level: 'error', code: 'NetStream.Publish.Denied', description: 'denied' })
  const node = await startNotifyEdge(t, { apps: { push: `push rtmp://127.0.0.1:${target.port} app=live;` } })
  const pub = await pacedPublisher(t, node.rtmpPort, 'push', 's1')
  const second = await target.connection(1, RELAY_RECONNECT_MS + PUSH_WAIT_MS)
  const first = target.connections[0]
  const held = Math.round((first.closedAt ?? second.openedAt) - first.openedAt)
  t.ok(Math.abs(held - RELAY_RECONNECT_MS) <= DEADLINE_TOLERANCE_MS, `the first attempt ended ${held} ms after it began (relay_reconnect ${RELAY_RECONNECT_MS})`)
  t.notOk(pub.client.closed, 'the publisher is still connected')
  t.same(pub.client.messages.filter((m) => m.values?.[0] === '_error' || statusInfo(m).level === 'error').map((m) => statusInfo(m).code), [],
    'and got no error status')
})

t.test('contract item 2: with cache_time, a leg that connects late starts with the cached GOP', { timeout: 30_000 }, async (t) => {
  const target = await pushTarget(t, { kind: 'start' }, { closed: true })
  const node = await startNotifyEdge(t, { apps: { push: `cache_time 2s;\n            push rtmp://127.0.0.1:${target.port} app=live;` } })
  await pacedPublisher(t, node.rtmpPort, 'push', 's1')
  const publishedAt = Date.now()
  // the target comes up once the 5th attempt (+750 ms) has failed; the 6th (+1550 ms) publishes
  await node.edge.waitForLog(/push: retry in 800 ms/, PUSH_WAIT_MS)
  await target.open()
  const c = await target.connection(0, PUSH_WAIT_MS)
  await target.until(() => mediaOf(c).filter((m) => m.typeId === MSG_VIDEO && m.head[1] === 1).length >= 5, PUSH_WAIT_MS, 'five video frames')
  const frames = mediaOf(c).filter((m) => m.typeId === MSG_VIDEO && m.head[1] === 1)
  const intoPublish = Math.round(c.openedAt - publishedAt)
  t.equal(frames[0].head[0] >> 4, 1, 'the first video frame is a keyframe')
  t.ok(frames[0].timestamp < intoPublish - GOP_BURST_MIN_MS,
    `stamped ${frames[0].timestamp}, before the leg connected (${intoPublish} ms into the publish): it comes from the cache`)
  t.ok(frames[4].at - frames[0].at < GOP_BURST_MIN_MS, `the first five frames came in a burst (${Math.round(frames[4].at - frames[0].at)} ms)`)
})

t.test('§14.3: a pulled stream is not pushed (its first publisher is a pull leg)', { timeout: 30_000 }, async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  t.teardown(() => origin.stop())
  const target = await pushTarget(t)
  const node = await startNotifyEdge(t, {
    apps: { pp: `pull rtmp://127.0.0.1:${origin.port} app=live;\n            push rtmp://127.0.0.1:${target.port} app=pushed;` },
  })
  const player = await localPlayer(t, node.rtmpPort, 'pp', 's1')
  await player.until(() => mediaCount(player) >= MEDIA_MESSAGES, PUSH_WAIT_MS, 'media pulled from the origin')
  t.pass('the player gets the pulled stream')
  const pushed = await target.until(() => target.connections.length > 0, NOT_PUSHED_WATCH_MS, 'connection').then(() => true, () => false)
  t.notOk(pushed, `the push target got no connection within ${NOT_PUSHED_WATCH_MS} ms of media flowing`)
  t.same(streamLines(node.edge.log().split('\n'), 'pp', 's1', /push: /), [], 'no push line in the log')
})
