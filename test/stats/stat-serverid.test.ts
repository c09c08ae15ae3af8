// rtmp_stat's <server> level (pingos-behaviour.md §9.1, §1.9, §13 scenario 36's last part, left
// to issue 12 by test/interop/notify-order.test.ts): streams are grouped by serverid, and the
// serverid of a stream is the default server's of its listening address, whatever server_name
// the tcUrl picked. edge lists every serverid of the configuration, in its order, from the start
// (docs/compat.md: PingOS creates them at the first connection).
import t from 'tap'
import { freePort, startEdge } from '../helpers/node.js'
import { pacedPublisher } from '../helpers/push-scenarios.js'
import { all, httpGet, one, parseStatXml, STAT_WAIT_MS, textOf } from '../helpers/stats.js'

t.test('36: a stream published with tcUrl host b.test is listed under the default server\'s serverid a', async (t) => {
  const rtmpPort = await freePort()
  const otherPort = await freePort()
  const httpPort = await freePort()
  const edge = await startEdge(`events {}
rtmp {
    server { listen ${rtmpPort}; serverid a; server_name a.test; application live { live on; } }
    server { listen ${rtmpPort}; serverid b; server_name b.test; application live { live on; } }
    server { listen ${otherPort}; serverid c; application live { live on; } }
}
http {
    server {
        listen 127.0.0.1:${httpPort};
        location /rtmp_stat { rtmp_stat all; }
    }
}
`)
  t.teardown(() => edge.stop())
  const stat = async (): Promise<string[][]> => {
    const rtmp = parseStatXml((await httpGet(httpPort, '/rtmp_stat')).body.toString('utf8'))
    return all(rtmp, 'server').map((s) => [textOf(s, 'serverid'), ...all(one(s, 'live'), 'stream').map((x) => textOf(x, 'name'))])
  }
  t.same(await stat(), [['a'], ['b'], ['c']], 'an idle node lists each serverid, empty, in the configuration\'s order')

  await pacedPublisher(t, rtmpPort, 'live', 'cam1', { tcUrl: `rtmp://b.test:${rtmpPort}/live` })
  await edge.waitForLog("publish: name='cam1'", STAT_WAIT_MS)
  t.same(await stat(), [['a', 'cam1'], ['b'], ['c']], 'cam1 (tcUrl b.test) is under <serverid>a</serverid>, the default server\'s')
})
