// Merged writes (issue 5, docs/compat.md): a player's media waits up to `merge_time` to be
// written together with what follows, `merge_frame` queued messages go out at once, and
// nothing else is delayed: control messages and the cached burst of a joining player are
// written immediately. A real edge; a scripted RTMP publisher and RTMP and HTTP-FLV players.
import { performance } from 'node:perf_hooks'
import t, { type Test } from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'
import { freePort, startEdge, type EdgeProcess } from '../helpers/node.js'
import { RawHttpClient } from '../helpers/raw-http.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'

const CSID_AUDIO = 6
const CSID_VIDEO = 7
/** merge_time of the node under test */
const MERGE_MS = 600
/** a merged write must not come sooner than this (timers never fire early; 10 % slack for clocks) */
const MERGED_AT_LEAST_MS = MERGE_MS * 0.9
/** what is not merged arrives well before the merge time would have passed */
const PROMPT_MS = MERGE_MS / 2

const AAC_HEADER = Buffer.from([0xaf, 0x00, 0x12, 0x10])
const aacFrame = (marker: number): Buffer => Buffer.from([0xaf, 0x01, marker, marker])
const AVC_HEADER = Buffer.from([0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, 0])
const avcFrame = (key: boolean, marker: number): Buffer => Buffer.from([key ? 0x17 : 0x27, 0x01, 0, 0, 0, marker])

let edge: EdgeProcess
let rtmpPort: number
let httpPort: number

t.before(async () => {
  rtmpPort = await freePort()
  httpPort = await freePort()
  edge = await startEdge(`events {}
rtmp {
  server {
    listen ${rtmpPort};
    merge_time ${MERGE_MS}ms;
    merge_frame 3;
    application live { live on; }
    application cached { live on; cache_time 5s; }
  }
}
http { server { listen ${httpPort}; location /live { flv_live ${rtmpPort}; } } }
`)
})
t.teardown(() => edge.stop())

async function publisher(t: Test, app: string, name: string): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.open(rtmpPort)
  await c.connectApp(app)
  t.equal(RtmpTestClient.code(await c.publish(name)), 'NetStream.Publish.Start')
  return c
}

async function player(t: Test, app: string, name: string): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.open(rtmpPort)
  await c.connectApp(app)
  const status = await c.play(name)
  t.equal(RtmpTestClient.code(status), 'NetStream.Play.Start', 'control messages come before any media, unmerged')
  return c
}

/** ms until `count` audio/video messages carrying `marker` in their last byte have arrived */
async function arrival(c: RtmpTestClient, marker: number, count = 1, timeoutMs = 5000): Promise<number> {
  const t0 = performance.now()
  const seen = (): number => c.messages.filter((m) => (m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO) && m.payload[m.payload.length - 1] === marker).length
  await c.until(() => seen() >= count, timeoutMs, `${count} messages marked ${marker}`)
  return performance.now() - t0
}

t.test('media below merge_frame waits merge_time; merge_frame messages go at once', async (t) => {
  const pub = await publisher(t, 'live', 'm1')
  const play = await player(t, 'live', 'm1')
  t.teardown(async () => { await play.close(); await pub.close() })

  pub.send(CSID_AUDIO, MSG_AUDIO, 1, 0, AAC_HEADER)
  pub.send(CSID_AUDIO, MSG_AUDIO, 1, 23, aacFrame(0x41))
  // the player's audio starts: the AAC header and the frame, 2 < merge_frame messages
  const waited = await arrival(play, 0x41)
  t.ok(waited >= MERGED_AT_LEAST_MS, `2 messages waited ${waited.toFixed(0)} ms for merge_time ${MERGE_MS} ms`)

  for (let i = 0; i < 3; i++) pub.send(CSID_AUDIO, MSG_AUDIO, 1, 46 + i * 23, aacFrame(0x42))
  const prompt = await arrival(play, 0x42, 3)
  t.ok(prompt < PROMPT_MS, `3 messages (merge_frame 3) went out after ${prompt.toFixed(0)} ms, without the merge wait`)
})

t.test('a joining player gets the cached burst at once', async (t) => {
  const pub = await publisher(t, 'cached', 'm2')
  t.teardown(() => pub.close())
  // header and keyframe: 2 messages, under merge_frame, so only the join's own flush sends them early
  pub.send(CSID_VIDEO, MSG_VIDEO, 1, 0, AVC_HEADER)
  pub.send(CSID_VIDEO, MSG_VIDEO, 1, 0, avcFrame(true, 0x51))
  // a first player proves the frames reached the cache before the second joins
  const first = await player(t, 'cached', 'm2')
  t.teardown(() => first.close())
  await arrival(first, 0x51)

  const t0 = performance.now()
  const late = await player(t, 'cached', 'm2')
  t.teardown(() => late.close())
  await arrival(late, 0x51)
  const ms = performance.now() - t0
  t.ok(ms < MERGED_AT_LEAST_MS, `connect, play and the cached keyframe in ${ms.toFixed(0)} ms (merge_time ${MERGE_MS} ms)`)
})

t.test('HTTP-FLV: a chunked tag counts as one message toward merge_frame', async (t) => {
  const pub = await publisher(t, 'live', 'm3')
  t.teardown(() => pub.close())
  const http = await RawHttpClient.open(httpPort)
  t.teardown(() => { http.socket.destroy() })
  http.send('GET /live/m3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  pub.send(CSID_AUDIO, MSG_AUDIO, 1, 0, AAC_HEADER)
  // an HTTP-FLV player's first tag carries the response head with it
  pub.send(CSID_AUDIO, MSG_AUDIO, 1, 23, aacFrame(0x61))
  const marked = (marker: number): number => http.tags.filter((tag) => tag.payload[tag.payload.length - 1] === marker).length
  await http.until(() => marked(0x61) >= 1, 5000, 'the first tag')
  let t0 = performance.now()
  for (let i = 0; i < 2; i++) pub.send(CSID_AUDIO, MSG_AUDIO, 1, 46 + i * 23, aacFrame(0x63))
  await http.until(() => marked(0x63) >= 2, 5000, '2 more tags')
  const waited = performance.now() - t0
  t.ok(waited >= MERGED_AT_LEAST_MS, `2 tags (6 buffers) waited ${waited.toFixed(0)} ms for merge_time ${MERGE_MS} ms`)

  t0 = performance.now()
  for (let i = 0; i < 3; i++) pub.send(CSID_AUDIO, MSG_AUDIO, 1, 92 + i * 23, aacFrame(0x62))
  await http.until(() => marked(0x62) >= 3, 5000, '3 more tags')
  const ms = performance.now() - t0
  t.ok(ms < PROMPT_MS, `3 tags (9 buffers: chunk head, tag, CRLF) went out after ${ms.toFixed(0)} ms, without the merge wait`)
})
