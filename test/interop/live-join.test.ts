// A player joining a live stream late (issue 3, spec §7.3–7.6, §8.5, observed §1.1 and §8,
// §13 scenarios 5, 30 and 31). ffmpeg publishes the test media (2 s GOP, 25 fps, AAC) into a
// real edge process; joiners are a raw-socket HTTP-FLV client and the scripted RTMP client.
// "Late" is measured on the stream itself: a watcher that joined first reports the media
// timestamps the publisher has reached (they are absolute and start at 0), so no test sleeps.
import { performance } from 'node:perf_hooks'
import t, { type Test } from 'tap'
import { decodeAmf0All, type AmfObject } from '../../lib/amf/amf0.js'
import { inspectAudio, inspectVideo, SOUND_FORMAT_AAC } from '../../lib/media/codec.js'
import { MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO } from '../../lib/media/message.js'
import { MSG_COMMAND_AMF0, MSG_USER_CONTROL, UC_STREAM_BEGIN } from '../../lib/rtmp/constants.js'
import { SERVER_NAME as SERVER } from '../helpers/expected.js'
import { publish, startLiveEdge, type LiveEdge } from '../helpers/node.js'
import { RawHttpClient } from '../helpers/raw-http.js'
import { RtmpTestClient, type Received } from '../helpers/rtmp-client.js'

/** scenario 30: a joiner comes at least this far into the stream */
const JOIN_AFTER_MS = 2500
/** scenario 30: how much media (timestamps, per track) the burst must hold ... */
const BURST_MEDIA_MS = 1000
/** ... and how soon after the request it must have arrived */
const BURST_WITHIN_MS = 300
/** bound on waiting for the publisher to reach a point, or for a joiner's media */
const MEDIA_WAIT_MS = 10_000
/** GOP of the test media: 50 frames at 25 fps */
const GOP_MS = 2000
/** a track-start header's timestamp is the previous frame's: within a few frame durations */
const HEADER_GAP_MAX_MS = 100
/** frames a watcher must see after a keyframe before a no-cache joiner counts as mid-GOP */
const MID_GOP_FRAMES = 5

/** What a test needs to know about one media message, from either protocol. */
interface Media {
  readonly typeId: number
  readonly timestamp: number
  readonly payload: Buffer
}

type Kind = 'meta' | 'aac-header' | 'avc-header' | 'keyframe' | 'inter' | 'audio' | 'other'

function kind(m: Media): Kind {
  if (m.typeId === MSG_DATA_AMF0) return 'meta'
  if (m.typeId === MSG_AUDIO) {
    const a = inspectAudio(m.payload)
    return a?.codecId === SOUND_FORMAT_AAC && a.sequenceHeader ? 'aac-header' : 'audio'
  }
  if (m.typeId === MSG_VIDEO) {
    const v = inspectVideo(m.payload)
    if (v === null) return 'other'
    if (v.codec === 'avc' && v.sequenceHeader) return 'avc-header'
    return v.keyframe ? 'keyframe' : 'inter'
  }
  return 'other'
}

const isMedia = (m: { typeId: number }): boolean => m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO || m.typeId === MSG_DATA_AMF0
/** RTMP media: what an FLV tag would carry (|RtmpSampleAccess is a data message too, but not media) */
const isRtmpMedia = (m: Received): boolean => isMedia(m) && m.values?.[0] !== '|RtmpSampleAccess'

/** Timestamp span of the non-header frames of one track. */
function spanMs(list: readonly Media[], typeId: number): number {
  const frames = list.filter((m) => m.typeId === typeId && kind(m) !== 'aac-header' && kind(m) !== 'avc-header')
  return frames.length < 2 ? 0 : frames[frames.length - 1].timestamp - frames[0].timestamp
}

const burstDone = (list: readonly Media[]): boolean =>
  spanMs(list, MSG_AUDIO) >= BURST_MEDIA_MS && spanMs(list, MSG_VIDEO) >= BURST_MEDIA_MS

/** The largest media timestamp in `list` (0 when empty). */
const newestMs = (list: readonly Media[]): number => list.reduce((max, m) => (m.typeId === MSG_DATA_AMF0 ? max : Math.max(max, m.timestamp)), 0)

/** A node with `cacheConf` in `application live`, HTTP-FLV at /live, ffmpeg publishing live/s1. */
async function startNode(t: Test, cacheConf: string): Promise<LiveEdge> {
  const node = await startLiveEdge(t, { app: cacheConf, flv: { '/live': 'app=live' } })
  const pub = publish(`rtmp://127.0.0.1:${node.rtmpPort}/live/s1`)
  t.teardown(() => pub.stop())
  return node
}

async function httpPlayer(t: Test, httpPort: number): Promise<RawHttpClient> {
  const c = await RawHttpClient.request(httpPort, '/live/s1')
  t.teardown(() => c.close())
  return c
}

async function rtmpPlayer(t: Test, rtmpPort: number): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.open(rtmpPort)
  t.teardown(() => c.close())
  const result = await c.connectApp('live', {}, rtmpPort)
  t.equal(result.values?.[0], '_result', 'connect succeeded')
  return c
}

/** onMetaData as edge rebuilds it: name, then an object whose first key is Server. */
function checkMetadata(t: Test, payload: Buffer): void {
  const [name, obj] = decodeAmf0All(payload)
  t.equal(name, 'onMetaData', 'the script data is onMetaData (no @setDataFrame)')
  const props = obj as AmfObject
  t.equal(Object.keys(props)[0], 'Server', 'its first key is Server')
  t.equal(props.Server, SERVER, `Server: "${SERVER}"`)
  t.equal(props.width, 320, 'width from the publisher')
  t.equal(props.height, 240, 'height from the publisher')
}

/**
 * Scenario 30 order: metadata, AAC header, AVC header, then the first video frame is a
 * keyframe. Raw audio may come between the AVC header and that keyframe: the cache starts at
 * the oldest frame kept and PingOS was seen bursting up to ~1 s of audio first (observed §8).
 */
function checkCachedStart(t: Test, kinds: readonly Kind[]): void {
  t.same(kinds.slice(0, 3), ['meta', 'aac-header', 'avc-header'], 'onMetaData, AAC sequence header, AVC sequence header first')
  const firstVideo = kinds.findIndex((k, i) => i > 2 && (k === 'keyframe' || k === 'inter' || k === 'avc-header'))
  t.equal(kinds[firstVideo], 'keyframe', 'the first video frame after the headers is a keyframe')
  t.ok(kinds.slice(3, firstVideo).every((k) => k === 'audio'), `only raw audio before it (${firstVideo - 3} audio frames)`)
}

/** Wait until the watcher's stream has reached JOIN_AFTER_MS. */
async function untilStreamAt(watcher: RawHttpClient, ms: number): Promise<void> {
  await watcher.until(() => newestMs(watcher.tags) >= ms || watcher.closed, MEDIA_WAIT_MS, `stream time ${ms} ms`)
}

t.test('scenario 30: with cache_time 1s and send_all on, a late joiner gets headers, a keyframe and 1 s of media at once', async (t) => {
  const { rtmpPort, httpPort } = await startNode(t, 'cache_time 1s; send_all on;')
  const watcher = await httpPlayer(t, httpPort)
  await untilStreamAt(watcher, JOIN_AFTER_MS)

  t.test('HTTP-FLV joiner', async (t) => {
    const c = await httpPlayer(t, httpPort)
    await c.until(() => burstDone(c.tags) || c.closed, MEDIA_WAIT_MS, `${BURST_MEDIA_MS} ms of audio and video`)
    t.ok(newestMs(watcher.tags) >= JOIN_AFTER_MS, `joined at stream time ≥ ${JOIN_AFTER_MS} ms`)
    t.equal(c.tags[0]?.typeId, MSG_DATA_AMF0, 'first tag: type 18')
    t.equal(c.tags[1]?.typeId, MSG_AUDIO, 'then type 8')
    t.equal(c.tags[2]?.typeId, MSG_VIDEO, 'then type 9')
    checkMetadata(t, c.tags[0].payload)
    checkCachedStart(t, c.tags.map(kind))
    // the tag that completed 1 s of both tracks, and when it arrived
    const done = c.tags.findIndex((_, i) => burstDone(c.tags.slice(0, i + 1)))
    t.ok(c.tags[done].atMs <= BURST_WITHIN_MS,
      `≥ ${BURST_MEDIA_MS} ms of audio and video within ${BURST_WITHIN_MS} ms of the request (took ${c.tags[done].atMs.toFixed(0)} ms)`)
  })

  t.test('RTMP joiner (scenario 5 order)', async (t) => {
    const c = await rtmpPlayer(t, rtmpPort)
    const from = c.messages.length
    const sentAt = performance.now()
    const status = await c.play('s1')
    t.equal(RtmpTestClient.code(status), 'NetStream.Play.Start', 'play started')
    const after = (): Received[] => c.messages.slice(from)
    await c.until(() => burstDone(after().filter(isRtmpMedia)) || c.closed, MEDIA_WAIT_MS, `${BURST_MEDIA_MS} ms of audio and video`)
    const tookMs = performance.now() - sentAt
    t.ok(newestMs(watcher.tags) >= JOIN_AFTER_MS, `joined at stream time ≥ ${JOIN_AFTER_MS} ms`)

    // the messages after createStream's _result
    const list = after()
    const start = list.findIndex((m) => m.values?.[0] === '_result') + 1
    const [begin, onStatus, sampleAccess, ...rest] = list.slice(start)
    t.equal(begin?.typeId, MSG_USER_CONTROL, 'first: a User Control message')
    t.same(begin?.payload, Buffer.from([0, UC_STREAM_BEGIN, 0, 0, 0, 1]), 'StreamBegin(1)')
    t.equal(onStatus?.typeId, MSG_COMMAND_AMF0, 'then a command')
    t.same(onStatus?.values, ['onStatus', 0, null, { level: 'status', code: 'NetStream.Play.Start', description: 'Start live' }],
      'onStatus(0, null, {level "status", code "NetStream.Play.Start", description "Start live"})')
    t.equal(sampleAccess?.typeId, MSG_DATA_AMF0, 'then a data message')
    t.same(sampleAccess?.values, ['|RtmpSampleAccess', true, true], '|RtmpSampleAccess(true, true)')
    t.ok(rest.every(isMedia), 'then only media messages')
    t.equal(rest[0]?.typeId, MSG_DATA_AMF0, 'media starts with a data message')
    if (rest[0] !== undefined) checkMetadata(t, rest[0].payload)
    checkCachedStart(t, rest.map(kind))
    t.ok(tookMs <= BURST_WITHIN_MS, `≥ ${BURST_MEDIA_MS} ms of audio and video within ${BURST_WITHIN_MS} ms of play (took ${tookMs.toFixed(0)} ms)`)
  })
})

/**
 * Scenario 31 checks on one joiner's media: the first video message is the AVC sequence
 * header, the very next message is a keyframe, and it is the next keyframe of the stream after
 * the join (the frames of the GOP in progress were skipped, not sent).
 */
function checkWaitKey(t: Test, media: readonly Media[], joinedAtMs: number): void {
  const kinds = media.map(kind)
  const firstVideo = kinds.findIndex((k) => k === 'avc-header' || k === 'keyframe' || k === 'inter')
  t.equal(kinds[firstVideo], 'avc-header', 'the first video message is the AVC sequence header')
  t.equal(kinds[firstVideo + 1], 'keyframe', 'immediately followed by a keyframe')
  t.notOk(kinds.slice(0, firstVideo).includes('inter'), 'no inter frame before it')
  const key = media[firstVideo + 1]
  t.ok(key !== undefined && key.timestamp > joinedAtMs && key.timestamp <= joinedAtMs + GOP_MS,
    `the keyframe is the stream's next one (ts ${key?.timestamp}, joined at ${joinedAtMs})`)
  t.equal(kinds[0], 'meta', 'onMetaData comes first')
  // observed §8: without a cache the joiner gets the AAC header, then audio until the keyframe
  t.equal(kinds[1], 'aac-header', 'then the AAC sequence header')
  t.ok(kinds.slice(2, firstVideo).filter((k) => k === 'audio').length > 0, 'audio flows while video waits for the keyframe')
}

/**
 * §7.6 (ngx_rtmp_live_av sends a track-start header with the publisher's last timestamp on
 * that track) and observed §1.1 (headers from an edge without a cache "had the stream time"):
 * each sequence header carries the stream time just before the first frame it precedes, not 0.
 */
function checkHeaderTimes(t: Test, media: readonly Media[]): void {
  const kinds = media.map(kind)
  for (const [what, header, frame] of [['AAC', 'aac-header', 'audio'], ['AVC', 'avc-header', 'keyframe']] as const) {
    const at = kinds.indexOf(header)
    const h = media[at]
    const f = media.find((_, i) => i > at && kinds[i] === frame)
    const gap = h === undefined || f === undefined ? NaN : f.timestamp - h.timestamp
    t.ok(gap >= 0 && gap <= HEADER_GAP_MAX_MS,
      `the ${what} sequence header carries the stream time (header ts ${h?.timestamp}, next ${frame} ts ${f?.timestamp})`)
  }
}

t.test('scenario 31: with cache_time 0 (wait_key on), video starts at the AVC header and a keyframe', async (t) => {
  const { rtmpPort, httpPort } = await startNode(t, 'cache_time 0;')
  const watcher = await httpPlayer(t, httpPort)
  // mid-GOP: MID_GOP_FRAMES inter frames after a keyframe, so the next keyframe is ≥ 1.5 s away
  const midGop = (): boolean => {
    const video = watcher.tags.filter((x) => kind(x) === 'keyframe' || kind(x) === 'inter')
    const lastKey = video.map(kind).lastIndexOf('keyframe')
    return lastKey >= 0 && video.length - 1 - lastKey >= MID_GOP_FRAMES
  }
  await watcher.until(() => midGop() || watcher.closed, MEDIA_WAIT_MS, 'the watcher to be mid-GOP')
  const joinedAtMs = newestMs(watcher.tags)

  const http = await httpPlayer(t, httpPort)
  const rtmp = await rtmpPlayer(t, rtmpPort)
  const from = rtmp.messages.length
  t.equal(RtmpTestClient.code(await rtmp.play('s1')), 'NetStream.Play.Start', 'RTMP play started')
  const rtmpMedia = (): Received[] => rtmp.messages.slice(from).filter(isRtmpMedia)
  const hasKey = (list: readonly Media[]): boolean => list.some((m) => kind(m) === 'keyframe')
  await http.until(() => hasKey(http.tags) || http.closed, MEDIA_WAIT_MS, 'a keyframe over HTTP-FLV')
  await rtmp.until(() => hasKey(rtmpMedia()) || rtmp.closed, MEDIA_WAIT_MS, 'a keyframe over RTMP')

  t.test('HTTP-FLV joiner', async (t) => checkWaitKey(t, http.tags, joinedAtMs))
  t.test('RTMP joiner', async (t) => checkWaitKey(t, rtmpMedia(), joinedAtMs))
  t.test('HTTP-FLV joiner: sequence header timestamps', async (t) => checkHeaderTimes(t, http.tags))
  t.test('RTMP joiner: sequence header timestamps', async (t) => checkHeaderTimes(t, rtmpMedia()))
})
