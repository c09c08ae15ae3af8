// An HTTP origin that answers 200 and then sends no FLV is a failed attempt: the back-off
// applies (PingOS counts the 200 as success and retries at once, hundreds of times a second).
import t from 'tap'
import { freePort, startEdge } from '../helpers/node.js'
import { RecordingHttpServer } from '../helpers/origins.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'

t.test('200 with HTML, again and again: attempts back off 50, 100, 200 ... ms', async (t) => {
  const origin = await RecordingHttpServer.start((req) => {
    req.socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>no stream</html>')
  })
  const port = await freePort()
  const edge = await startEdge(`events {}
rtmp { server { listen ${port}; application live { live on; pull http://127.0.0.1:${origin.port} app=live; } } }\n`)
  t.teardown(async () => { await edge.stop(); await origin.stop() })
  const player = await RtmpTestClient.open(port)
  t.teardown(() => player.close())
  await player.connectApp('live')
  await player.play('cam1')
  await origin.request(4, 5000)
  const at = origin.requests.map((r) => r.at)
  const gaps = at.slice(1, 5).map((x, i) => x - at[i])
  t.ok(gaps.every((g, i) => g >= 50 * 2 ** i - 5), `gaps grow: ${gaps.join(', ')} ms`)
  await edge.waitForLog('pull: retry in 800 ms', 5000)
  t.ok(origin.requests.length < 10, `${origin.requests.length} requests in the first 1.5 s, not hundreds`)
})
