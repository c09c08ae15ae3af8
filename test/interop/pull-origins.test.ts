// Static pull from real origins (issue 4, "Done when"): Debian's nginx with its RTMP module
// fed by ffmpeg, and another edge process serving HTTP-FLV. ffprobe decodes the stream through
// the pulling edge over RTMP and HTTP-FLV; nginx's own log proves the pull is shared.
import { existsSync } from 'node:fs'
import t from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { startNginxRtmp, nginxRtmpMissing } from '../helpers/nginx-rtmp.js'
import { publish, publishLive, startLiveEdge } from '../helpers/node.js'
import {
  FFPROBE, ffprobeStreams, H264_AAC, isAvcKeyframe, isKeyframeMessage, playerH, playerR, startEdgeB,
} from '../helpers/pull-scenarios.js'

const FFMPEG = '/usr/bin/ffmpeg'
/** bound on the first keyframe through the edge: ffmpeg and the origin start, then a 2 s GOP */
const MEDIA_WAIT_MS = 15_000
/** bound on the publisher reaching an origin */
const PUBLISH_WAIT_MS = 15_000

const toolsMissing = (): string | false => {
  const absent = [FFMPEG, FFPROBE].filter((p) => !existsSync(p))
  return absent.length === 0 ? nginxRtmpMissing() : `not installed: ${absent.join(', ')}`
}

/** nginx-rtmp's play lines for stream `name` in its error log. */
const playLines = (log: string, name: string): string[] => log.split('\n').filter((l) => l.includes(`play: name='${name}'`))

t.test('nginx-rtmp origin: ffprobe decodes through the edge; one play for all players', {
  skip: toolsMissing(), timeout: 90_000,
}, async (t) => {
  const nginx = await startNginxRtmp(t)
  const publisher = publish(`rtmp://127.0.0.1:${nginx.port}/live/s1`)
  t.teardown(() => publisher.stop())
  const { edge, rtmpPort, httpPort } = await startEdgeB(t, `pull rtmp://127.0.0.1:${nginx.port} app=live;`)

  // three long-lived players of live/s1: two RTMP, one HTTP-FLV
  const r1 = await playerR(t, rtmpPort, { name: 's1' })
  const r2 = await playerR(t, rtmpPort, { name: 's1' })
  const h = await playerH(t, httpPort, { target: '/flv/s1?app=live' })
  await Promise.all([
    r1.client.next(isKeyframeMessage, MEDIA_WAIT_MS),
    r2.client.next(isKeyframeMessage, MEDIA_WAIT_MS),
    h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO && isAvcKeyframe(tag.payload)), MEDIA_WAIT_MS, 'a keyframe at player H'),
  ])
  t.pass('two RTMP players and one HTTP-FLV player receive keyframes pulled from nginx-rtmp')
  t.equal(h.status, 200, 'the HTTP-FLV player: 200')
  t.equal(h.bodyError, null, 'the HTTP-FLV body parses as FLV')

  t.same(await ffprobeStreams(`rtmp://127.0.0.1:${rtmpPort}/live/s1`), H264_AAC, 'ffprobe over edge RTMP: h264 + aac')
  t.same(await ffprobeStreams(`http://127.0.0.1:${httpPort}/flv/s1?app=live`), H264_AAC, 'ffprobe over edge HTTP-FLV: h264 + aac')

  const plays = playLines(nginx.errorLog(), 's1')
  t.equal(plays.length, 1, `nginx logged exactly one play for the 3 players and 2 ffprobes: ${JSON.stringify(plays)}`)
  t.match(plays[0] ?? '', /play: name='s1' args='' start=-1000 duration=-1000/, 'the edge\'s play as PingOS sends it')
  t.match(nginx.errorLog(), /connect: app='live' args='' flashver='LNX 9,0,124,2' swf_url='' tc_url='rtmp:\/\/127\.0\.0\.1\/live'/,
    'the edge\'s connect as PingOS sends it (pingos-observed.md §2)')
  t.notOk(r1.client.closed || r2.client.closed || h.closed, 'the three players are still attached')
  t.match(edge.log(), /pull: publishing/, 'the edge logged the pull reaching publishing')
})

t.test('edge as HTTP-FLV origin: ffprobe decodes through the pulling edge', {
  skip: existsSync(FFMPEG) && existsSync(FFPROBE) ? false : 'no ffmpeg/ffprobe', timeout: 90_000,
}, async (t) => {
  // edge A: the publisher's node, serving /<app>/<name> over HTTP-FLV (what a pull requests)
  const { edge: a, rtmpPort: aRtmp, httpPort: aHttp } = await startLiveEdge(t, {
    server: 'serverid origin;', app: 'cache_time 1s;\n            send_all on;', flv: { '/': '' },
  })
  await publishLive(t, a, aRtmp, PUBLISH_WAIT_MS)

  // edge B pulls from A over HTTP-FLV
  const b = await startEdgeB(t, `pull http://127.0.0.1:${aHttp} app=live;`)
  t.same(await ffprobeStreams(`http://127.0.0.1:${b.httpPort}/flv/s1?app=live`), H264_AAC, 'ffprobe over edge B HTTP-FLV: h264 + aac')
  t.same(await ffprobeStreams(`rtmp://127.0.0.1:${b.rtmpPort}/live/s1`), H264_AAC, 'ffprobe over edge B RTMP: h264 + aac')
  t.match(a.log(), /flv play: app='live' name='s1'/, 'edge A served the pull as an HTTP-FLV play of live/s1')
})
