// Issue 10, found by the review of the pipelines and the notify client; each subtest failed on
// the first version of the change:
//   - a CR or LF in a stream name made the on_play request unsendable, which counted as "no
//     answer" and so as allowed under ignore_invalid_notify: a refusal bypass;
//   - non-ASCII stream names went out as latin1, not as the UTF-8 the player sent (RTMP), or
//     encoded twice (an HTTP-FLV URL with raw UTF-8 bytes);
//   - `update=0` sent updates in a busy loop (PingOS: 0 means the default, 60 s);
//   - on_meta with `on_meta_once off` started one more update loop per sequence header;
//   - `timeout=` did not bound the DNS lookup of the notify host;
//   - a player waiting on on_play when a reload removed its application was let in afterwards.
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { createSocket } from 'node:dgram'
import { join } from 'node:path'
import t from 'tap'
import {
  absent, byPath, closedAt, notifyServer, PLAY_FORBIDDEN, rtmpClient, sendVideoHeader, startNotifyEdge, where,
} from '../helpers/notify.js'
import { hang, reply } from '../helpers/origins.js'
import { requestWhere, statuses } from '../helpers/pull-scenarios.js'
import { RawHttpClient } from '../helpers/raw-http.js'

/** bound on a refused client being closed */
const CLOSE_WAIT_MS = 3000

t.test('a CR/LF in the stream name refuses the play, ignore_invalid_notify or not, and sends nothing', async (t) => {
  const notify = await notifyServer(t, reply(403))
  const url = `http://127.0.0.1:${notify.port}`
  const node = await startNotifyEdge(t, {
    apps: { ign: `ignore_invalid_notify on;\n            on_play ${url}/play args=$pargs;\n            on_publish ${url}/publish args=$pargs;` },
  })
  const p = await rtmpClient(t, node.rtmpPort, 'ign')
  await p.play('s1?tok=bad\r\nX-Forged: 1')
  await closedAt(p, CLOSE_WAIT_MS)
  t.same(statuses(p), [PLAY_FORBIDDEN], 'the player is refused (Play.Forbidden), not let in')
  const q = await rtmpClient(t, node.rtmpPort, 'ign')
  await q.publish('s2?tok=\n')
  await closedAt(q, CLOSE_WAIT_MS)
  t.same(statuses(q), [PLAY_FORBIDDEN], 'the publisher is refused too')
  t.ok(await absent(notify, () => true, 300), 'no request reached the notify server')
  t.match(node.edge.log(), /on_play start: 400/, 'logged as a 400 answer')
})

t.test('a non-ASCII stream name goes out as the UTF-8 bytes the player sent', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const node = await startNotifyEdge(t, { apps: { live: `on_play http://127.0.0.1:${notify.port}/play args=$pargs;` } })
  const p = await rtmpClient(t, node.rtmpPort, 'live')
  await p.play('测试?tok=é')
  const r = await requestWhere(notify, where('play', 'start'))
  // RecordingHttpServer reads latin1: each byte is one character
  const bytes = Buffer.from(r.line, 'latin1')
  t.ok(bytes.includes(Buffer.from('name=测试&', 'utf8')), 'name= is the UTF-8 of the name')
  t.ok(bytes.includes(Buffer.from('&tok=é ', 'utf8')), 'the args too')
})

t.test('an HTTP-FLV URL with raw UTF-8 bytes goes out as those bytes', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const node = await startNotifyEdge(t, { apps: { live: `on_play http://127.0.0.1:${notify.port}/play args=$pargs;` } })
  // RawHttpClient writes a string as latin1: this one is the UTF-8 bytes of the URL
  const target = Buffer.from('/flv/测试?app=live&tok=é', 'utf8').toString('latin1')
  const h = await RawHttpClient.request(node.httpPort, target)
  t.teardown(() => h.close())
  const r = await requestWhere(notify, where('play', 'start'))
  const bytes = Buffer.from(r.line, 'latin1')
  t.ok(bytes.includes(Buffer.from('name=测试&', 'utf8')), 'name= is the UTF-8 of the name, once')
  t.ok(bytes.includes(Buffer.from('&app=live&tok=é ', 'utf8')), '$pargs too')
})

t.test('update=0 means the default (60 s), not a busy loop', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const node = await startNotifyEdge(t, { apps: { live: `on_play http://127.0.0.1:${notify.port}/play stage=start,update update=0;` } })
  const p = await rtmpClient(t, node.rtmpPort, 'live')
  await p.play('s1')
  await requestWhere(notify, where('play', 'start'))
  t.ok(await absent(notify, where('play', 'update'), 1500), 'no update within 1.5 s')
})

t.test('on_meta_once off with stage=update: one update loop, however many headers come', async (t) => {
  const notify = await notifyServer(t, reply(200))
  const node = await startNotifyEdge(t, {
    apps: { live: `on_meta_once off;\n            on_meta http://127.0.0.1:${notify.port}/meta stage=start,update update=1s;` },
  })
  const pub = await rtmpClient(t, node.rtmpPort, 'live')
  await pub.publish('m1')
  for (let i = 0; i < 5; i++) sendVideoHeader(pub, i * 40)
  await requestWhere(notify, where('meta', 'start'), 4)
  await requestWhere(notify, where('meta', 'update'), 1, 4000)
  const starts = notify.requests.filter(where('meta', 'start'))
  const updates = notify.requests.filter(where('meta', 'update'))
  const span = updates[updates.length - 1].at - starts[0].at
  t.equal(starts.length, 5, 'a start per header (on_meta_once off)')
  t.ok(updates.length <= Math.floor(span / 1000) + 1, `${updates.length} updates in ${span} ms: one loop`)
})

t.test('timeout= bounds the DNS lookup of the notify host', async (t) => {
  // a name server that never answers
  const dns = createSocket('udp4')
  dns.bind(0, '127.0.0.1')
  await once(dns, 'listening')
  t.teardown(() => dns.close())
  const node = await startNotifyEdge(t, {
    apps: { live: 'on_play http://notify.test:9/play timeout=1s;' },
    server: '',
  })
  // the resolver is an events{} directive: rewrite the config and reload
  const file = join(node.edge.dir, 'nginx.conf')
  writeFileSync(file, readFileSync(file, 'utf8').replace('events {}', `events { resolver 127.0.0.1:${dns.address().port}; }`))
  node.edge.child.kill('SIGHUP')
  await node.edge.waitForLog(/reconfiguring/)
  const p = await rtmpClient(t, node.rtmpPort, 'live')
  const from = Date.now()
  await p.play('s1')
  const ms = (await closedAt(p, 4000)) - from
  t.same(statuses(p), [PLAY_FORBIDDEN], 'refused')
  t.ok(ms >= 900 && ms < 2000, `at the 1 s timeout (${ms} ms)`)
})

t.test('a reload that removes the application refuses the player still waiting on on_play', async (t) => {
  const notify = await notifyServer(t, byPath({ '/play': hang }))
  const node = await startNotifyEdge(t, { apps: { live: `on_play http://127.0.0.1:${notify.port}/play timeout=10s;`, other: '' } })
  const p = await rtmpClient(t, node.rtmpPort, 'live')
  void p.play('s1').catch(() => {})
  await requestWhere(notify, where('play', 'start'))
  const file = join(node.edge.dir, 'nginx.conf')
  writeFileSync(file, readFileSync(file, 'utf8').replace(/application live \{[^}]*\}/, ''))
  node.edge.child.kill('SIGHUP')
  await closedAt(p, CLOSE_WAIT_MS)
  t.notOk(statuses(p).some((s) => s.code === 'NetStream.Play.Start'), 'never Play.Start')
  t.match(node.edge.log(), /application "live" is gone after reload/)
})
