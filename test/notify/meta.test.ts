// on_meta options and $metadata (issue 10; pingos-behaviour.md §4.5, §5.4, §6.1;
// pingos-observed.md §12, §13.3, §17.6). One edge, an application per case; an AMF-level
// publisher sends the test media's metadata and sequence headers one at a time so each request
// can be tied to the header that caused it, and ffmpeg publishes for $metadata.
//
// What edge must do (contract of issue 10):
//   - each on_meta line sends to its own URL with its own args (a fix: PingOS sends N
//     requests to the first line's URL, observed §13.3);
//   - on_meta_type video (default) = the AVC header, audio = the AAC header, both = either;
//     on_meta_once on (default) = once per stream, off = on every matching header;
//   - $metadata = width=W&height=H&duration=D&framerate=F.FF&fps=N&videodatarate=V&videocodec=NAME&audiocodec=NAME&audiodatarate=A
//     with a real fps and the audio codec's name (a fix: PingOS sends fps=3435973837 and an
//     empty audiocodec, observed §17.6).
import t, { type Test } from 'tap'
import {
  absent, clientIdFromLog, notifyLine, notifyServer, pathOf, PUBLISH_START, rtmpClient, sendAudioHeader, sendMetadata,
  sendVideoHeader, startNotifyEdge, where, type NotifyEdge,
} from '../helpers/notify.js'
import { publish } from '../helpers/node.js'
import { reply, type RecordedRequest, type RecordingHttpServer } from '../helpers/origins.js'
import { requestWhere, statusInfo } from '../helpers/pull-scenarios.js'
import type { RtmpTestClient } from '../helpers/rtmp-client.js'

/** how long a header that must not trigger on_meta is watched for a request */
const NO_META_WATCH_MS = 500
/** bound on ffmpeg's publish reaching on_meta (ffmpeg start-up included) */
const FFMPEG_META_WAIT_MS = 10_000
/** the test media (test/fixtures/media/README.md): 320x240 H.264 at 25 fps, AAC */
const WIDTH = 320
const HEIGHT = 240
const FRAME_RATE = 25

let notify: RecordingHttpServer
let node: NotifyEdge

t.before(async () => {
  notify = await notifyServer(t, reply(200))
  const url = (path: string): string => `http://127.0.0.1:${notify.port}${path}`
  node = await startNotifyEdge(t, {
    apps: {
      metaab: `on_meta ${url('/metaA')} args=a=1;\non_meta ${url('/metaB')} args=b=1;`,
      metaaudio: `on_meta_type audio;\non_meta ${url('/maudio')} args=$pargs;`,
      metaboth: `on_meta_type both;\non_meta_once off;\non_meta ${url('/mboth')} stage=start,done args=$pargs;`,
      metaonce: `on_meta ${url('/monce')} args=$pargs;`,
      metadata: `on_meta ${url('/mdata')} args=$metadata;`,
    },
  })
})

const onPath = (path: string) => (r: RecordedRequest): boolean => pathOf(r) === path

/** An RTMP publisher on app/name that got Publish.Start; its clientid from edge's log. */
async function publisher(t: Test, app: string, name: string): Promise<{ p: RtmpTestClient, id: number }> {
  const p = await rtmpClient(t, node.rtmpPort, app)
  const id = await clientIdFromLog(node.edge, p.socket.localPort ?? 0)
  t.same(statusInfo(await p.publish(name)), PUBLISH_START, 'Publish.Start')
  return { p, id }
}

t.test('two on_meta lines: one request each, to its own URL with its own args', async (t) => {
  const { p, id } = await publisher(t, 'metaab', 'ab')
  sendMetadata(p)
  sendVideoHeader(p)
  const subject = { domain: '127.0.0.1', app: 'metaab', name: 'ab', clientId: id }
  const a = await requestWhere(notify, onPath('/metaA'))
  const b = await requestWhere(notify, onPath('/metaB'))
  t.equal(a.line, notifyLine('/metaA', 'meta', 'start', subject, 'a=1'), 'the first line: its URL, its args')
  t.equal(b.line, notifyLine('/metaB', 'meta', 'start', subject, 'b=1'), 'the second line: its URL, its args')
  t.ok(await absent(notify, (r) => /^\/meta[AB]$/.test(pathOf(r)), NO_META_WATCH_MS), 'no other request')
  t.equal(notify.requests.filter((r) => /^\/meta[AB]$/.test(pathOf(r))).length, 2, 'two requests in all')
})

t.test('on_meta_type audio: the AAC header triggers it, the AVC header does not', async (t) => {
  const { p, id } = await publisher(t, 'metaaudio', 'au?k=1')
  sendMetadata(p)
  sendVideoHeader(p)
  t.ok(await absent(notify, onPath('/maudio'), NO_META_WATCH_MS), 'no request for the metadata and the video header')
  sendAudioHeader(p)
  const start = await requestWhere(notify, onPath('/maudio'))
  t.equal(start.line, notifyLine('/maudio', 'meta', 'start', { domain: '127.0.0.1', app: 'metaaudio', name: 'au', clientId: id }, 'k=1'),
    'act=start at the audio header')
})

t.test('on_meta_type both, on_meta_once off: a start for every sequence header; done at the close', async (t) => {
  const { p, id } = await publisher(t, 'metaboth', 'bo?k=2')
  const line = notifyLine('/mboth', 'meta', 'start', { domain: '127.0.0.1', app: 'metaboth', name: 'bo', clientId: id }, 'k=2')
  sendMetadata(p)
  t.ok(await absent(notify, onPath('/mboth'), NO_META_WATCH_MS), 'no request for the metadata')
  sendVideoHeader(p)
  t.equal((await requestWhere(notify, where('meta', 'start', 'bo'), 0)).line, line, 'act=start at the video header')
  sendAudioHeader(p)
  t.equal((await requestWhere(notify, where('meta', 'start', 'bo'), 1)).line, line, 'another at the audio header')
  sendVideoHeader(p, 40)
  t.equal((await requestWhere(notify, where('meta', 'start', 'bo'), 2)).line, line, 'another at a repeated video header')
  t.equal(notify.requests.filter(where('meta', 'done', 'bo')).length, 0, 'no act=done while publishing')
  await p.close()
  const done = await requestWhere(notify, where('meta', 'done', 'bo'))
  t.equal(done.line, line.replace('&act=start&', '&act=done&'), 'act=done at the close, the start line with act=done')
})

t.test('on_meta_once on (default), on_meta_type video (default): one start per stream', async (t) => {
  const { p, id } = await publisher(t, 'metaonce', 'on?k=3')
  sendMetadata(p)
  sendAudioHeader(p)
  t.ok(await absent(notify, onPath('/monce'), NO_META_WATCH_MS), 'no request for the metadata and the audio header')
  sendVideoHeader(p)
  const start = await requestWhere(notify, onPath('/monce'))
  t.equal(start.line, notifyLine('/monce', 'meta', 'start', { domain: '127.0.0.1', app: 'metaonce', name: 'on', clientId: id }, 'k=3'),
    'act=start at the video header')
  sendVideoHeader(p, 40)
  sendAudioHeader(p, 40)
  t.ok(await absent(notify, onPath('/monce'), NO_META_WATCH_MS), 'no second request for repeated headers')
})

t.test('$metadata of an ffmpeg publish: the stream\'s values, a real fps and audio codec name', async (t) => {
  const ff = publish(`rtmp://127.0.0.1:${node.rtmpPort}/metadata/md`)
  t.teardown(() => ff.stop())
  const start = await requestWhere(notify, onPath('/mdata'), 0, FFMPEG_META_WAIT_MS)
  const m = /^GET \/mdata\?call=meta&act=start&domain=127\.0\.0\.1&app=metadata&name=md&clientid=\d+&(.*) HTTP\/1\.1$/.exec(start.line)
  t.ok(m !== null, `the on_meta start request line: ${start.line}`)
  const metadata = m?.[1] ?? ''
  const shape = /^width=(\d+)&height=(\d+)&duration=(\d+)&framerate=(\d+\.\d\d)&fps=(\d+)&videodatarate=(\d+)&videocodec=([^&]*)&audiocodec=([^&]*)&audiodatarate=(\d+)$/
  const v = shape.exec(metadata)
  t.ok(v !== null, `$metadata has the shape width=…&height=…&duration=…&framerate=F.FF&fps=N&videodatarate=…&videocodec=…&audiocodec=…&audiodatarate=…: ${metadata}`)
  if (v === null) return
  const [, width, height, , framerate, fps, , videocodec, audiocodec] = v
  t.equal(Number(width), WIDTH, 'width of the test media')
  t.equal(Number(height), HEIGHT, 'height of the test media')
  t.equal(framerate, `${FRAME_RATE}.00`, 'framerate with two decimals')
  // a fix: PingOS's fps is 3435973837; edge's is the integer frame rate (±1 if measured)
  t.ok(Math.abs(Number(fps) - FRAME_RATE) <= 1, `fps=${fps} is the integer frame rate`)
  t.equal(videocodec, 'H264', 'videocodec H264, as PingOS names it')
  // a fix: PingOS leaves it empty for AAC
  t.match(audiocodec, /^[A-Za-z0-9]+$/, `audiocodec names the codec (${audiocodec})`)
})
