// The write timeout (§1.5, §8.6): a player whose output has not moved for `timeout` is closed,
// alone; a player that reads keeps playing. A real edge; a scripted RTMP publisher is the source.
import { connect } from 'node:net'
import { once } from 'node:events'
import t from 'tap'
import { MSG_VIDEO } from '../../lib/media/message.js'
import { freePort, startEdge } from '../helpers/node.js'
import { RawHttpClient } from '../helpers/raw-http.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'

const CSID_VIDEO = 7
const TIMEOUT_S = 2
const FRAME_BYTES = 256 * 1024
const FRAME_MS = 20
/** the most the paused player's socket buffers take to fill at ~100 Mbit/s, with margin */
const BUFFER_FILL_MS = 1500
const AVC_HEADER = Buffer.from([0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, 0])

function frame(key: boolean): Buffer {
  const b = Buffer.alloc(FRAME_BYTES, 0x11)
  b[0] = key ? 0x17 : 0x27
  b[1] = 1
  return b
}

t.test('output blocked for `timeout` closes that player only', async (t) => {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const edge = await startEdge(`events {}
rtmp { server { listen ${rtmpPort}; timeout ${TIMEOUT_S}s; application live { live on; } } }
http { server { listen ${httpPort}; location /live { flv_live ${rtmpPort}; } } }
`)
  t.teardown(() => edge.stop())
  const pub = await RtmpTestClient.open(rtmpPort)
  t.teardown(() => pub.close())
  await pub.connectApp('live')
  t.equal(RtmpTestClient.code(await pub.publish('s')), 'NetStream.Publish.Start')
  pub.setChunkSize(65536)

  // never reads after its request
  const paused = connect(httpPort, '127.0.0.1')
  t.teardown(() => { paused.destroy() })
  await once(paused, 'connect')
  paused.pause()
  paused.write('GET /live/s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  const reader = await RawHttpClient.open(httpPort)
  t.teardown(() => { reader.socket.destroy() })
  reader.send('GET /live/s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await edge.waitForLog(/flv play: app='live' name='s'[^\n]*\n[^]*flv play: app='live' name='s'/)

  // a 256 KB frame every 20 ms (~100 Mbit/s), a keyframe every 10: the reader keeps up, the
  // paused player's kernel buffers fill within a second and then its queue stops moving
  pub.send(CSID_VIDEO, MSG_VIDEO, 1, 0, AVC_HEADER)
  let n = 0
  const started = Date.now()
  const source = setInterval(() => { pub.send(CSID_VIDEO, MSG_VIDEO, 1, n * 40, frame(n % 10 === 0)); n++ }, FRAME_MS)
  t.teardown(() => clearInterval(source))
  await edge.waitForLog(/flv close: send timed out, \d+ bytes unsent/, 20_000)
  // the kernel buffers on both sides fill in under a second at this rate; then `timeout` runs
  // once (issue 9: writes queued to the stuck socket used to restart it, about twice `timeout`)
  const elapsedMs = Date.now() - started
  t.ok(elapsedMs >= TIMEOUT_S * 1000 && elapsedMs < TIMEOUT_S * 1000 + BUFFER_FILL_MS,
    `the paused player was closed for its blocked output after ${elapsedMs} ms (${n} frames)`)
  const seen = reader.tags.length
  await reader.until(() => reader.tags.length >= seen + 10, 5000, 'more frames at the reading player')
  t.equal(reader.closed, false, 'the reading player is still connected and playing')
  t.equal(edge.log().match(/send timed out/g)?.length, 1, 'only the paused player timed out')
})
