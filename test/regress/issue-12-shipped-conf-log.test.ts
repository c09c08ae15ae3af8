// Issue 12, first run: the node `npm start` runs must show that a publish and a play worked.
// edge logs them as nginx-rtmp does (ngx_rtmp_cmd_publish / ngx_rtmp_cmd_play at info; the
// HTTP-FLV play alike), so the shipped conf logs at info. The test runs the shipped conf (ports
// replaced), publishes with ffmpeg, plays with ffprobe over RTMP and HTTP-FLV, and reads the
// node's stderr.
import t from 'tap'
import { ffmpegMissing } from '../helpers/cluster.js'
import { publish } from '../helpers/node.js'
import { ffprobeStreams, H264_AAC } from '../helpers/pull-scenarios.js'
import { startShippedEdge } from '../helpers/shipped.js'

/** bound on a log line showing up once its cause happened */
const LOG_WAIT_MS = 10_000

t.test('the shipped conf logs the publish and each play', { skip: ffmpegMissing() }, async (t) => {
  const { edge, rtmpPort, httpPort } = await startShippedEdge(t)
  const publisher = publish(`rtmp://127.0.0.1:${rtmpPort}/live/test`)
  t.teardown(() => publisher.stop())
  await edge.waitForLog(/\[info\] \d+#0: \*\d+ publish: name='test' args='', client: 127\.0\.0\.1:\d+, app: live, name: test\n/, LOG_WAIT_MS)

  t.same(await ffprobeStreams(`rtmp://127.0.0.1:${rtmpPort}/live/test`), H264_AAC, 'ffprobe reads the stream over RTMP')
  await edge.waitForLog(/\[info\] \d+#0: \*\d+ play: name='test' args='', client: 127\.0\.0\.1:\d+, app: live, name: test\n/, LOG_WAIT_MS)

  t.same(await ffprobeStreams(`http://127.0.0.1:${httpPort}/live/test.flv`), H264_AAC, 'ffprobe reads the stream over HTTP-FLV')
  await edge.waitForLog(/\[info\] \d+#0: \*\d+ flv play: app='live' name='test' args='' http, client: 127\.0\.0\.1:\d+, app: live, name: test\n/, LOG_WAIT_MS)
})
