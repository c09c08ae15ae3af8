// Host names of origins are resolved without blocking (issue 4 item 4, §11): with the
// `resolver` directive edge asks those name servers; without it, the system resolver.
// A host that only appears in an on_pull Location is resolved too (compatibility fix).
import t from 'tap'
import { TestDnsServer } from '../helpers/dns-server.js'
import { startEdge, freePort } from '../helpers/node.js'
import { FakeRtmpOrigin, RecordingHttpServer, reply } from '../helpers/origins.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'

async function playAndWaitForOrigin(rtmpPort: number, origin: FakeRtmpOrigin, app: string): Promise<RtmpTestClient> {
  const player = await RtmpTestClient.open(rtmpPort)
  await player.connectApp(app)
  await player.play('cam1')
  await origin.command(await origin.connection(0), 'play')
  return player
}

t.test('pull from a host name, resolved by the configured resolver, asked again for each attempt', async (t) => {
  const dns = await TestDnsServer.start()
  const origin = await FakeRtmpOrigin.start({ kind: 'serve-then-close', afterMs: 300 })
  const port = await freePort()
  dns.answers.set('origin.test', '127.0.0.1')
  const edge = await startEdge(`events { resolver 127.0.0.1:${dns.port}; }
rtmp { server { listen ${port}; application live { live on; pull rtmp://origin.test:${origin.port} app=live; } } }\n`)
  t.teardown(async () => { await edge.stop(); await origin.stop(); await dns.stop() })
  const player = await playAndWaitForOrigin(port, origin, 'live')
  t.teardown(() => player.close())
  t.ok(dns.queries.includes('origin.test'), 'the configured name server was asked')
  await origin.connection(1)
  t.ok(dns.queries.filter((q) => q === 'origin.test').length >= 2, 'asked again for the next attempt')
})

t.test('a Location host is resolved (PingOS never connects to it)', async (t) => {
  const origin = await FakeRtmpOrigin.start({ kind: 'serve' })
  const notify = await RecordingHttpServer.start(reply(302, { Location: `rtmp://localhost:${origin.port}/live/x` }))
  const port = await freePort()
  const edge = await startEdge(`events {}
rtmp { server { listen ${port}; application live { live on; on_pull http://127.0.0.1:${notify.port}/n; } } }\n`)
  t.teardown(async () => { await edge.stop(); await origin.stop(); await notify.stop() })
  const player = await playAndWaitForOrigin(port, origin, 'live')
  t.teardown(() => player.close())
  const play = await origin.command(origin.connections[0], 'play')
  t.equal(play.args[0], 'x')
})

t.test('an unresolvable origin host is a failed attempt, retried with back-off; the node stays up', async (t) => {
  const dns = await TestDnsServer.start()
  const port = await freePort()
  const edge = await startEdge(`events { resolver 127.0.0.1:${dns.port}; }
rtmp { server { listen ${port}; application live { live on; pull rtmp://nowhere.test:1935 app=live; } } }\n`)
  t.teardown(async () => { await edge.stop(); await dns.stop() })
  const player = await RtmpTestClient.open(port)
  t.teardown(() => player.close())
  await player.connectApp('live')
  const status = await player.play('cam1')
  t.equal(RtmpTestClient.code(status), 'NetStream.Play.Start', 'the player waits, as PingOS players do')
  // nginx's resolver words (ngx_resolver_strerror)
  await edge.waitForLog(/\[error\] .*pull: nowhere\.test could not be resolved \(3: Host not found\)/)
  await edge.waitForLog('pull: retry in 100 ms')
  t.notOk(player.closed)
})
