// The live stream against in-memory sinks (pingos-behaviour.md §7.2, §7.4–7.6): encodings
// shared by identity across players, GOP cache join order and trimming, wait_key/wait_video
// without the cache, the slow-player policy, and the publisher slot. Media are synthetic FLV
// bodies: AVC sequence header `17 00`, keyframe `17 01`, inter frame `27 01`, AAC sequence
// header `af 00`, AAC raw `af 01`.
import t from 'tap'
import { encodeAmf0 } from '../../lib/amf/amf0.js'
import { NodeMetrics } from '../../lib/core/node-metrics.js'
import { encodeFlvTag } from '../../lib/flv/tag.js'
import { Frame, type OutputFormat } from '../../lib/live/frame.js'
import { GopCache } from '../../lib/live/gop-cache.js'
import { LiveStream, type LiveOptions } from '../../lib/live/stream.js'
import type { PublisherHandle } from '../../lib/live/publisher.js'
import { PLAYER_HARD_BYTES, PLAYER_SOFT_BYTES, type Player, type Sink } from '../../lib/live/player.js'
import { MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO, type MediaMessage } from '../../lib/media/message.js'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'
import { CSID_VIDEO, STREAM_ID } from '../../lib/rtmp/constants.js'
import type { PlayFailure } from '../../lib/stages.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

const FRAME_MS = 40
const AUDIO_OFFSET_MS = 20
const CHUNK_SIZE = 128
const HEVC_CODEC_ID = 12
const MANY_PLAYERS = 1000

// ---- synthetic media ---------------------------------------------------------------------------

/** A body of `bytes` bytes that starts with `head` (the rest a pattern, so copies show). */
function body(head: string, bytes: number): Buffer {
  const h = hex(head)
  const out = Buffer.alloc(Math.max(bytes, h.length))
  for (let i = h.length; i < out.length; i++) out[i] = i & 0xff
  h.copy(out)
  return out
}

const avcHeader = (ts = 0): MediaMessage => ({ typeId: MSG_VIDEO, timestamp: ts, payload: body('17 00 000000 0142c01e ffe1 0004 6742c01e 01 0004 68ce3c80', 0) })
const aacHeader = (ts = 0): MediaMessage => ({ typeId: MSG_AUDIO, timestamp: ts, payload: hex('af 00 1210') })
const keyframe = (ts: number, bytes = 64): MediaMessage => ({ typeId: MSG_VIDEO, timestamp: ts, payload: body('17 01 000000 00000010 65', bytes) })
const inter = (ts: number, bytes = 32): MediaMessage => ({ typeId: MSG_VIDEO, timestamp: ts, payload: body('27 01 000000 00000008 41', bytes) })
const aacRaw = (ts: number): MediaMessage => ({ typeId: MSG_AUDIO, timestamp: ts, payload: body('af 01 21', 16) })
const setDataFrame = (width = 320): MediaMessage => ({
  typeId: MSG_DATA_AMF0, timestamp: 0,
  payload: encodeAmf0('@setDataFrame', 'onMetaData', { width, height: 240, framerate: 25, videocodecid: 7 }),
})

/** Video every 40 ms (a keyframe where ts % gopMs is 0) and AAC 20 ms after each, in [from, to). */
function av(fromMs: number, toMs: number, gopMs: number, audio = true): MediaMessage[] {
  const out: MediaMessage[] = []
  for (let ts = fromMs; ts < toMs; ts += FRAME_MS) {
    out.push(ts % gopMs === 0 ? keyframe(ts) : inter(ts))
    if (audio) out.push(aacRaw(ts + AUDIO_OFFSET_MS))
  }
  return out
}

/** A short name for a frame: meta, aac-hdr, avc-hdr, K<ts>, v<ts>, a<ts>. */
function label(m: MediaMessage): string {
  if (m.typeId === MSG_DATA_AMF0) return 'meta'
  if (m.typeId === MSG_AUDIO) return m.payload[1] === 0 ? 'aac-hdr' : `a${m.timestamp}`
  if (m.payload[1] === 0) return 'avc-hdr'
  return m.payload[0] >> 4 === 1 ? `K${m.timestamp}` : `v${m.timestamp}`
}

// ---- sinks and streams ---------------------------------------------------------------------------

/** A Sink that records what the stream hands it; queuedBytes is set by the test. */
interface MemSink extends Sink {
  queuedBytes: number
  /** the Frames written, in order */
  readonly frames: Frame[]
  /** what a real sink would put on its socket: frame.rtmp or frame.flv */
  readonly bytes: Buffer[]
  /** labels of frames, and 'begin', 'eof', 'close', 'fail' */
  readonly events: string[]
  readonly closes: string[]
  /** runs on close: a real sink leaves the stream there */
  onClose: (() => void) | null
}

function memSink(format: OutputFormat = 'rtmp'): MemSink {
  const sink: MemSink = {
    format,
    queuedBytes: 0,
    frames: [],
    bytes: [],
    events: [],
    closes: [],
    onClose: null,
    writeFrame(f: Frame) {
      sink.frames.push(f)
      sink.bytes.push(format === 'rtmp' ? f.rtmp : f.flv)
      sink.events.push(label(f.msg))
    },
    streamBegin() { sink.events.push('begin') },
    streamEof() { sink.events.push('eof') },
    close(reason: string) {
      sink.closes.push(reason)
      sink.events.push('close')
      sink.onClose?.()
    },
    fail(failure: PlayFailure) {
      sink.events.push('fail')
      sink.close(failure.description)
    },
  }
  return sink
}

/** The media labels a sink received (without begin/eof/close). */
const media = (s: MemSink): string[] => s.frames.map((f) => label(f.msg))

function options(o: Partial<LiveOptions> = {}): LiveOptions {
  return {
    cacheTimeMs: 0, sendAll: false, lowLatency: false, waitKey: true, waitVideo: false, idleStreams: true,
    meta: 'on', outQueue: 10240, chunkSize: CHUNK_SIZE, hevcCodecId: HEVC_CODEC_ID, serverName: 'edge-test', serverId: 'edge', application: 'live', ...o,
  }
}

/** A player as the sessions add one: addPlayer, then startPlayer (after Play.Start). */
function join(stream: LiveStream, sink: MemSink, leavesOnClose = false): Player {
  const pl = stream.addPlayer(sink)
  if (leavesOnClose) sink.onClose = () => stream.removePlayer(pl)
  stream.startPlayer(pl)
  return pl
}

function feed(stream: LiveStream, pub: PublisherHandle, msgs: readonly MediaMessage[]): void {
  for (const m of msgs) {
    if (m.typeId === MSG_DATA_AMF0) stream.publishData(pub, m)
    else stream.publish(pub, m)
  }
}

/** A stream with one publisher that has sent metadata and both sequence headers. */
function started(o: Partial<LiveOptions> = {}, metrics = new NodeMetrics()): { stream: LiveStream, pub: PublisherHandle } {
  const stream = new LiveStream('edge/live/cam1', options(o), metrics)
  const pub: PublisherHandle = { priority: 0, close() {} }
  stream.addPublisher(pub)
  feed(stream, pub, [setDataFrame(), aacHeader(), avcHeader()])
  return { stream, pub }
}

/** The labels of the non-header frames of `msgs` from index `from`, in order. */
const labelsFrom = (msgs: readonly MediaMessage[], from: number): string[] => msgs.slice(from).map(label)

// ---- encode once, share the Buffer ----------------------------------------------------------------

t.test('two players receive the same Frame and the same encoded Buffer', async (t) => {
  const { stream, pub } = started()
  const a = memSink()
  const b = memSink()
  join(stream, a)
  join(stream, b)
  feed(stream, pub, [keyframe(0, 1400), inter(40), aacRaw(60)])
  t.same(media(a), ['meta', 'avc-hdr', 'K0', 'v40', 'aac-hdr', 'a60'])
  t.equal(a.frames.length, b.frames.length)
  for (let i = 0; i < a.frames.length; i++) {
    t.equal(a.frames[i], b.frames[i], `frame ${i}: one Frame object`)
    t.equal(a.bytes[i], b.bytes[i], `frame ${i}: the same rtmp Buffer object`)
  }
})

t.test('1,000 RTMP and 1,000 HTTP-FLV players: one encoding per format, shared by identity', async (t) => {
  const { stream, pub } = started()
  const rtmp = Array.from({ length: MANY_PLAYERS }, () => memSink('rtmp'))
  const flv = Array.from({ length: MANY_PLAYERS }, () => memSink('flv'))
  for (const s of [...rtmp, ...flv]) join(stream, s)
  const key = keyframe(1000, 1400)
  feed(stream, pub, [key, inter(1040, 1400), aacRaw(1060)])

  const expect = ['meta', 'avc-hdr', 'K1000', 'v1040', 'aac-hdr', 'a1060']
  t.ok(rtmp.every((s) => media(s).join() === expect.join()), 'every RTMP player got the same sequence')
  t.ok(flv.every((s) => media(s).join() === expect.join()), 'every HTTP-FLV player got the same sequence')
  for (let i = 0; i < expect.length; i++) {
    t.ok(rtmp.every((s) => s.bytes[i] === rtmp[0].bytes[i]), `${expect[i]}: all 1,000 RTMP players hold one Buffer`)
    t.ok(flv.every((s) => s.bytes[i] === flv[0].bytes[i]), `${expect[i]}: all 1,000 HTTP-FLV players hold one Buffer`)
    t.ok(flv.every((s) => s.frames[i] === rtmp[0].frames[i]), `${expect[i]}: both formats come from one Frame`)
  }
  const k = rtmp[0].frames[2]
  t.equal(k.msg.payload, key.payload, 'the publisher\'s payload is kept as is (no copy on publish)')
  t.same(rtmp[0].bytes[2], encodeChunks(CSID_VIDEO, MSG_VIDEO, STREAM_ID, 1000, key.payload, CHUNK_SIZE),
    'the shared RTMP bytes: csid 7, stream 1, cut at the stream\'s chunk size')
  t.same(flv[0].bytes[2], encodeFlvTag(MSG_VIDEO, 1000, key.payload), 'the shared FLV bytes: one tag')
})

// ---- GOP cache (§7.5) -----------------------------------------------------------------------------

t.test('GOP cache, send_all on: metadata, AAC header, AVC header, keyframe, then the whole cache', async (t) => {
  const { stream, pub } = started({ cacheTimeMs: 1000, sendAll: true })
  const msgs = av(0, 2500, 1000)
  feed(stream, pub, msgs)
  const s = memSink()
  join(stream, s)
  // keyframes at 0, 1000, 2000: the video frame at 2000 is cache_time past the second
  // keyframe, so the first GOP went and the cache starts at K1000
  const head = msgs.findIndex((m) => label(m) === 'K1000')
  t.same(s.events, ['begin', 'meta', 'aac-hdr', 'avc-hdr', ...labelsFrom(msgs, head)])
  feed(stream, pub, [inter(2520)])
  t.same(s.events.slice(-1), ['v2520'], 'then each new frame as it comes')
})

t.test('GOP cache, send_all off: only cache_time is burst, then one owed frame per new frame', async (t) => {
  const { stream, pub } = started({ cacheTimeMs: 1000, sendAll: false })
  const msgs = av(0, 2500, 2000)
  feed(stream, pub, msgs)
  const s = memSink()
  join(stream, s)
  const burst = msgs.filter((m) => m.timestamp < 1000)
  t.same(s.events, ['begin', 'meta', 'aac-hdr', 'avc-hdr', ...burst.map(label)], 'the first cache_time of the cache, from K0')

  const next = av(2520, 2600, 2000)
  for (let i = 0; i < next.length; i++) {
    const before = s.frames.length
    feed(stream, pub, [next[i]])
    t.equal(s.frames.length, before + 1, `${label(next[i])} published: one frame delivered`)
  }
  t.same(media(s).slice(-next.length), labelsFrom(msgs, burst.length).slice(0, next.length),
    'the owed frames, in order, right after the burst')

  // at v3000 the first GOP is trimmed away, taking the player's position with it
  feed(stream, pub, av(2600, 3000, 2000))
  feed(stream, pub, [inter(3000)])
  t.same(s.events.slice(-4), ['meta', 'aac-hdr', 'avc-hdr', 'K2000'], 'position trimmed: headers again, then the new cache head')
  feed(stream, pub, [aacRaw(3020), inter(3040)])
  t.same(s.events.slice(-2), ['a2020', 'v2040'], 'and on from there, one per new frame')
})

t.test('GOP cache: a player that joins before any media gets the headers before the first frame', async (t) => {
  const stream = new LiveStream('edge/live/cam1', options({ cacheTimeMs: 1000, sendAll: true }), new NodeMetrics())
  const pub: PublisherHandle = { priority: 0, close() {} }
  stream.addPublisher(pub)
  const s = memSink()
  join(stream, s)
  feed(stream, pub, [setDataFrame(), aacHeader(), avcHeader(), keyframe(0), aacRaw(20)])
  t.same(s.events, ['begin', 'meta', 'aac-hdr', 'avc-hdr', 'K0', 'a20'])
})

/** Frames for a GopCache as the stream makes them. */
const frame = (m: MediaMessage): Frame => new Frame(m, CHUNK_SIZE, HEVC_CODEC_ID)

for (const [cacheTimeMs, gopMs] of [[1000, 2000], [1000, 480], [3000, 1000], [1000, 1000]] as const) {
  t.test(`cache trimming, cache_time ${cacheTimeMs} ms, GOP ${gopMs} ms: between cache_time and cache_time + one GOP, from a keyframe`, async (t) => {
    const cache = new GopCache(cacheTimeMs, 100_000)
    let trimmed = false
    let bad = 0
    for (const m of av(0, 20_000, gopMs)) {
      cache.push(frame(m))
      if (m.typeId !== MSG_VIDEO) continue
      const head = cache.get(cache.headSeq) as Frame
      const span = m.timestamp - head.timestamp
      trimmed ||= cache.headSeq > 0
      const ok = trimmed
        ? head.keyframe && span >= cacheTimeMs && span < cacheTimeMs + gopMs
        : span < cacheTimeMs + gopMs
      if (!ok) {
        bad++
        if (bad <= 3) t.fail(`at ${label(m)}: head ${label(head.msg)}, span ${span} ms`)
      }
    }
    t.ok(trimmed, 'trimming began')
    t.equal(bad, 0, 'the invariant held after every video frame')
  })
}

t.test('cache trimming: video before the first keyframe is not cached', async (t) => {
  const cache = new GopCache(1000, 100_000)
  t.equal(cache.push(frame(inter(0))), false)
  t.equal(cache.push(frame(keyframe(40))), true)
  t.equal(cache.push(frame(inter(80))), true)
  t.equal(label((cache.get(cache.headSeq) as Frame).msg), 'K40')
})

t.test('cache trimming, audio only: cache_time of audio', async (t) => {
  const cache = new GopCache(1000, 100_000)
  for (let ts = 0; ts < 10_000; ts += 23) {
    cache.push(frame(aacRaw(ts)))
    const span = ts - (cache.get(cache.headSeq) as Frame).timestamp
    if (span > 1000 || (ts >= 1000 && span < 1000 - 23)) {
      t.fail(`at a${ts}: span ${span} ms`)
      return
    }
  }
  t.pass('audio-only span stayed within (cache_time - one frame, cache_time]')
})

t.test('cache trimming: out_queue bounds the number of cached frames', async (t) => {
  const cache = new GopCache(5000, 50)
  let most = 0
  for (const m of av(0, 10_000, 2000)) {
    cache.push(frame(m))
    most = Math.max(most, cache.size)
  }
  t.equal(most, 50)
})

t.test('late joiners with the cache always start at a keyframe', async (t) => {
  const { stream, pub } = started({ cacheTimeMs: 1000, sendAll: true })
  const msgs = av(0, 12_000, 1200)
  let joins = 0
  for (let i = 0; i < msgs.length; i++) {
    feed(stream, pub, [msgs[i]])
    // a player joining after each video frame from 2.4 s on (trimming has begun)
    if (msgs[i].typeId !== MSG_VIDEO || msgs[i].timestamp < 2400) continue
    const s = memSink()
    const pl = join(stream, s)
    stream.removePlayer(pl)
    joins++
    if (!/^K\d+$/.test(media(s)[3] ?? '')) {
      t.fail(`joined after ${label(msgs[i])}: first cached frame is ${media(s)[3]}`)
      return
    }
  }
  t.ok(joins > 200, `${joins} joins, each starting meta, aac-hdr, avc-hdr, keyframe`)
})

// ---- without the cache (§7.6) ---------------------------------------------------------------------

t.test('no cache, wait_key on, wait_video on: audio waits for video, video for a keyframe', async (t) => {
  const { stream, pub } = started({ waitKey: true, waitVideo: true })
  feed(stream, pub, [keyframe(0), inter(40)])
  const s = memSink()
  join(stream, s)
  t.same(s.events, ['begin'], 'nothing without the cache until the next frames')
  feed(stream, pub, [aacRaw(60), inter(80), aacRaw(100), inter(120)])
  t.same(media(s), [], 'audio and inter frames before the first keyframe are held back')
  feed(stream, pub, [keyframe(160), aacRaw(180), inter(200)])
  t.same(media(s), ['meta', 'avc-hdr', 'K160', 'aac-hdr', 'a180', 'v200'],
    'metadata, then the AVC header right before the keyframe; the AAC header right before the first audio')
})

t.test('no cache, wait_video off: audio starts at once with its header', async (t) => {
  const { stream, pub } = started({ waitKey: true, waitVideo: false })
  feed(stream, pub, [keyframe(0)])
  const s = memSink()
  join(stream, s)
  feed(stream, pub, [aacRaw(20), inter(40), keyframe(80)])
  t.same(media(s), ['meta', 'aac-hdr', 'a20', 'avc-hdr', 'K80'])
})

t.test('no cache, wait_key off: video starts on any frame, header first', async (t) => {
  const { stream, pub } = started({ waitKey: false, waitVideo: false })
  feed(stream, pub, [keyframe(0)])
  const s = memSink()
  join(stream, s)
  feed(stream, pub, [inter(40), aacRaw(60)])
  t.same(media(s), ['meta', 'avc-hdr', 'v40', 'aac-hdr', 'a60'])
})

t.test('a new metadata version reaches each player once, before its next frame (§7.4)', async (t) => {
  const { stream, pub } = started()
  const a = memSink()
  const b = memSink()
  join(stream, a)
  join(stream, b)
  feed(stream, pub, [keyframe(0), inter(40)])
  feed(stream, pub, [setDataFrame(640)])
  t.same(media(a), ['meta', 'avc-hdr', 'K0', 'v40'], 'nothing on its own')
  feed(stream, pub, [inter(80), inter(120)])
  t.same(media(a), ['meta', 'avc-hdr', 'K0', 'v40', 'meta', 'v80', 'v120'])
  t.same(media(b), media(a))
  t.equal(a.frames[4], b.frames[4], 'one metadata Frame for both')
  t.not(a.frames[4], a.frames[0], 'a new Frame for the new version')
})

// ---- slow players ---------------------------------------------------------------------------------

t.test('over the soft limit: drop until a keyframe that finds the queue at half the soft limit', async (t) => {
  const metrics = new NodeMetrics()
  const { stream, pub } = started({}, metrics)
  const slow = memSink()
  const other = memSink()
  const slowPl = join(stream, slow)
  join(stream, other)
  feed(stream, pub, [keyframe(0), aacRaw(20), inter(40)])
  const had = slow.frames.length

  slow.queuedBytes = PLAYER_SOFT_BYTES + 1
  feed(stream, pub, [aacRaw(60), inter(80)])
  t.equal(slow.frames.length, had, 'over the soft limit: nothing more')
  slow.queuedBytes = PLAYER_SOFT_BYTES / 2 + 1
  feed(stream, pub, [keyframe(120)])
  t.equal(slow.frames.length, had, 'a keyframe while still above half the soft limit: dropped too')
  slow.queuedBytes = PLAYER_SOFT_BYTES / 2 - 1
  feed(stream, pub, [inter(160), aacRaw(180)])
  t.equal(slow.frames.length, had, 'below half, but no keyframe yet: inter frames and audio still dropped')
  feed(stream, pub, [keyframe(200), aacRaw(220), inter(240)])
  t.same(media(slow).slice(had), ['K200', 'a220', 'v240'], 'resumes at the keyframe')
  t.equal(slowPl.dropped, 5, 'five frames dropped')
  t.equal(metrics.droppedFrames, 5, 'the node counts them (edge_player_dropped_frames_total)')
  t.same(slow.closes, [], 'not disconnected')
  t.same(media(other), ['meta', 'avc-hdr', 'K0', 'aac-hdr', 'a20', 'v40', 'a60', 'v80', 'K120', 'v160', 'a180', 'K200', 'a220', 'v240'],
    'the other player got every frame')
})

t.test('over the hard limit: the sink is closed once; the others get every frame', async (t) => {
  const metrics = new NodeMetrics()
  const { stream, pub } = started({}, metrics)
  const slow = memSink()
  const other = memSink()
  join(stream, slow)
  join(stream, other)
  feed(stream, pub, [keyframe(0)])
  const had = slow.frames.length
  slow.queuedBytes = PLAYER_HARD_BYTES + 1
  feed(stream, pub, [inter(40), aacRaw(60), inter(80)])
  t.equal(slow.frames.length, had, 'nothing more written to it')
  t.match(slow.closes[0], /^slow player: \d+ bytes unsent$/, 'closed as a slow player')
  t.same(metrics.slowPlayersClosed, { queue_limit: 1, send_timeout: 0 }, 'the node counts it (edge_slow_players_closed_total)')
  t.same(media(other), ['meta', 'avc-hdr', 'K0', 'v40', 'aac-hdr', 'a60', 'v80'], 'the other player is unaffected')
})

t.test('over the hard limit, sink that does not leave at once: still closed only once', async (t) => {
  const metrics = new NodeMetrics()
  const { stream, pub } = started({}, metrics)
  const slow = memSink()
  join(stream, slow)
  feed(stream, pub, [keyframe(0)])
  slow.queuedBytes = PLAYER_HARD_BYTES + 1
  feed(stream, pub, [inter(40), aacRaw(60), inter(80)])
  t.equal(slow.closes.length, 1, 'close called once')
  t.equal(metrics.slowPlayersClosed.queue_limit, 1, 'and counted once')
})

t.test('a slow player leaving during fan-out does not make the next player miss a frame', async (t) => {
  const { stream, pub } = started()
  const slow = memSink()
  const b = memSink()
  const c = memSink()
  join(stream, slow, true)
  join(stream, b, true)
  join(stream, c, true)
  feed(stream, pub, [keyframe(0)])
  slow.queuedBytes = PLAYER_HARD_BYTES + 1
  feed(stream, pub, [inter(40), inter(80)])
  t.same(slow.closes.length, 1, 'the slow player is closed once')
  t.equal(stream.players.length, 2, 'and has left')
  t.same(media(b), ['meta', 'avc-hdr', 'K0', 'v40', 'v80'], 'b got every frame')
  t.same(media(c), ['meta', 'avc-hdr', 'K0', 'v40', 'v80'], 'c got every frame')
})

// ---- the publisher slot (§7.2) --------------------------------------------------------------------

t.test('publisher priority: same priority refused, higher takes over', async (t) => {
  const stream = new LiveStream('edge/live/cam1', options(), new NodeMetrics())
  const low: PublisherHandle = { priority: 0, close() {} }
  const dup: PublisherHandle = { priority: 0, close() {} }
  const high: PublisherHandle = { priority: 1, close() {} }
  t.equal(stream.addPublisher(low), true)
  t.equal(stream.addPublisher(dup), false, 'same priority: refused (NetStream.Publish.BadName)')
  t.equal(stream.isPublishing(dup), false)
  const s = memSink()
  join(stream, s)
  feed(stream, dup, [avcHeader(), keyframe(0)])
  t.same(s.events, [], 'the refused publisher\'s media goes nowhere')
  feed(stream, low, [avcHeader(), keyframe(0), inter(40)])
  t.same(s.events, ['begin', 'avc-hdr', 'K0', 'v40'])

  t.equal(stream.addPublisher(high), true, 'higher priority: accepted')
  t.equal(stream.isPublishing(high), true, 'and feeds the players')
  t.equal(stream.isPublishing(low), false)
  t.same(s.events.slice(-1), ['eof'], 'players see the old publisher end')
  feed(stream, low, [inter(80)])
  t.same(s.events.slice(-1), ['eof'], 'the lower publisher\'s media is ignored')
  feed(stream, high, [avcHeader(5000), keyframe(5000), inter(5040)])
  t.same(s.events.slice(-4), ['begin', 'avc-hdr', 'K5000', 'v5040'], 'StreamBegin, then the new publisher from its keyframe')
})

t.test('when the higher publisher leaves, the lower one takes over with its own sequence headers', async (t) => {
  const stream = new LiveStream('edge/live/cam1', options(), new NodeMetrics())
  const low: PublisherHandle = { priority: 0, close() {} }
  const high: PublisherHandle = { priority: 1, close() {} }
  stream.addPublisher(low)
  feed(stream, low, [setDataFrame(), aacHeader(), avcHeader(), keyframe(0)])
  stream.addPublisher(high)
  feed(stream, high, [avcHeader(), keyframe(0)])
  stream.removePublisher(high)
  t.equal(stream.isPublishing(low), true, 'the lower publisher feeds the stream again')
  const s = memSink()
  join(stream, s)
  feed(stream, low, [keyframe(2000), aacRaw(2020)])
  t.same(media(s), ['meta', 'avc-hdr', 'K2000', 'aac-hdr', 'a2020'], 'a new player gets the lower publisher\'s headers',)
})

t.test('publisher leaves: StreamEOF to players, who stay with idle_streams on', async (t) => {
  const { stream, pub } = started({ idleStreams: true })
  const s = memSink()
  join(stream, s, true)
  feed(stream, pub, [keyframe(0)])
  stream.removePublisher(pub)
  t.same(s.events.slice(-1), ['eof'])
  t.same(s.closes, [])
  t.equal(stream.players.length, 1)
  t.equal(stream.hasPublisher, false)
  t.equal(stream.isActive, false)
})

t.test('publisher leaves with idle_streams off: StreamEOF, then every player is closed', async (t) => {
  const { stream, pub } = started({ idleStreams: false })
  const sinks = [memSink(), memSink('flv'), memSink()]
  for (const s of sinks) join(stream, s, true)
  feed(stream, pub, [keyframe(0)])
  stream.removePublisher(pub)
  for (const [i, s] of sinks.entries()) {
    t.same(s.events.slice(-2), ['eof', 'close'], `player ${i}: StreamEOF then closed`)
    t.same(s.closes, ['publisher gone, idle_streams off'])
  }
  t.equal(stream.players.length, 0)
  t.equal(stream.isEmpty, true)
})

t.test('publisher that sent no media leaves with idle_streams off: players are closed too', async (t) => {
  const stream = new LiveStream('edge/live/cam1', options({ idleStreams: false }), new NodeMetrics())
  const pub: PublisherHandle = { priority: 0, close() {} }
  stream.addPublisher(pub)
  const s = memSink()
  join(stream, s, true)
  stream.removePublisher(pub)
  t.same(s.closes, ['publisher gone, idle_streams off'], 'closed')
})
