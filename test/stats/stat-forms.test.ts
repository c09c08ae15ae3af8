// The other forms of the node's stats (pingos-behaviour.md §9.1, §9.3; the JSON contract of
// issue 12): `rtmp_stat live` (no clients), `rtmp_stat_stylesheet`, the JSON of `?format=json`
// and `rtmp_stat_format json`, and `sys_stat`. One node: live/cam1 pulled from an origin edge
// with an RTMP and an HTTP-FLV player, push/p1 published by ffmpeg and pushed to another edge.
import t, { type Test } from 'tap'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { publish, startLiveEdge } from '../helpers/node.js'
import { mediaCount, playerH, playerR } from '../helpers/pull-scenarios.js'
import { header } from '../helpers/raw-http.js'
import {
  all, clientsOf, descendants, has, listsClients, one, OPERATIONS_LOCATIONS, parseStatXml, skeleton, startOrigin, startStatEdge, STAT_WAIT_MS,
  statWhen, streamsOf, textOf, type StatEdge, type XmlElement,
} from '../helpers/stats.js'

const LOCATIONS = {
  ...OPERATIONS_LOCATIONS,
  '/stat_live': 'rtmp_stat live;',
  '/stat_xsl': 'rtmp_stat all; rtmp_stat_stylesheet /stat.xsl;',
  '/stat_json': 'rtmp_stat all; rtmp_stat_format json;',
  '/sys_stat': 'sys_stat;',
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Obj = { [key: string]: Json }

async function setup(t: Test): Promise<StatEdge> {
  const origin = await startOrigin(t)
  const target = await startLiveEdge(t)
  const node = await startStatEdge(t, {
    live: `pull rtmp://127.0.0.1:${origin.rtmpPort} app=live;`,
    push: `push rtmp://127.0.0.1:${target.rtmpPort} app=live;`,
  }, LOCATIONS)
  const r = await playerR(t, node.rtmpPort, { name: 'cam1' })
  await r.client.until(() => mediaCount(r.client) > 0, STAT_WAIT_MS, 'media at the RTMP player')
  const h = await playerH(t, node.httpPort, { target: '/flv/cam1?app=live' })
  await h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video at the HTTP-FLV player')
  const p = publish(`rtmp://127.0.0.1:${node.rtmpPort}/push/p1`)
  t.teardown(() => p.stop())
  await node.edge.waitForLog(/push: publishing, app: push, name: p1/, STAT_WAIT_MS)
  // p1's <meta> is empty until ffmpeg's headers arrive: wait for them, so the values compared are real
  await statWhen(node, (x) => listsClients('cam1', 3)(x) && listsClients('p1', 2)(x) &&
    streamsOf(x).every((s) => has(s, 'active') && descendants(s, 'codec').length === 2))
  return node
}

/** The fields of the XML that do not move between two requests, in the JSON's shape. */
function steadyOfXml(rtmp: XmlElement): Json {
  const meta = (s: XmlElement): Json => {
    if (!has(s, 'meta')) return null
    const m = one(s, 'meta')
    const fields = (e: XmlElement): Obj => Object.fromEntries(e.children.map((c) => [c.name, /^\d+$/.test(c.text) ? Number(c.text) : c.text]))
    return { video: fields(one(m, 'video')), audio: fields(one(m, 'audio')) }
  }
  return {
    nginx_version: textOf(rtmp, 'nginx_version'),
    nginx_rtmp_version: textOf(rtmp, 'nginx_rtmp_version'),
    compiler: textOf(rtmp, 'compiler'),
    built: textOf(rtmp, 'built'),
    pid: Number(textOf(rtmp, 'pid')),
    servers: all(rtmp, 'server').map((srv) => ({
      serverid: textOf(srv, 'serverid'),
      streams: all(one(srv, 'live'), 'stream').map((s) => ({
        name: textOf(s, 'name'),
        clients: clientsOf(s).map((c) => ({
          id: c.id, address: c.address, remote_address: c.remote, ...(c.flashver === null ? {} : { flashver: c.flashver }),
          publishing: c.publishing, active: c.active,
        })),
        meta: meta(s),
        nclients: Number(textOf(s, 'nclients')),
        publishing: has(s, 'publishing'),
        active: has(s, 'active'),
      })),
      nclients: Number(textOf(one(srv, 'live'), 'nclients')),
    })),
  }
}

/** The same fields of the JSON. */
function steadyOfJson(j: Obj): Json {
  const r = j.rtmp as Obj
  return {
    nginx_version: r.nginx_version,
    nginx_rtmp_version: r.nginx_rtmp_version,
    compiler: r.compiler,
    built: r.built,
    pid: r.pid,
    servers: (r.servers as Obj[]).map((srv) => ({
      serverid: srv.serverid,
      streams: ((srv.live as Obj).streams as Obj[]).map((s) => ({
        name: s.name,
        clients: (s.clients as Obj[]).map((c) => ({
          id: c.id, address: c.address, remote_address: c.remote_address, ...('flashver' in c ? { flashver: c.flashver } : {}),
          publishing: c.publishing, active: c.active,
        })),
        meta: s.meta,
        nclients: s.nclients,
        publishing: s.publishing,
        active: s.active,
      })),
      nclients: (srv.live as Obj).nclients,
    })),
  }
}

const keys = (o: Json): string[] => Object.keys(o as Obj)

t.test('rtmp_stat live, rtmp_stat_stylesheet, JSON and sys_stat', async (t) => {
  const node = await setup(t)
  const allDoc = await node.stat()
  const lines = skeleton(allDoc)

  await t.test('rtmp_stat live: no <client>, <meta> and <nclients> kept', async (t) => {
    const res = await node.get('/stat_live')
    t.equal(header(res, 'Content-Type'), 'text/xml', 'text/xml')
    const doc = res.body.toString('utf8')
    t.notMatch(doc, /<client>/, 'no <client>')
    t.same(skeleton(doc), lines.filter((l) => !l.startsWith('<client>')), 'otherwise the lines of rtmp_stat all')
    const streams = all(one(one(parseStatXml(doc), 'server'), 'live'), 'stream')
    t.same(streams.map((s) => [textOf(s, 'name'), has(s, 'meta'), textOf(s, 'nclients')]), [['cam1', true, '3'], ['p1', true, '2']],
      'each stream keeps its <meta> and counts its clients in <nclients>')
  })

  await t.test('rtmp_stat_stylesheet /stat.xsl: the stylesheet line after the declaration', async (t) => {
    const doc = (await node.get('/stat_xsl')).body.toString('utf8')
    const got = skeleton(doc)
    t.equal(got[1], '<?xml-stylesheet type="text/xsl" href="/stat.xsl" ?>', 'line 2')
    t.same([got[0], ...got.slice(2)], lines, 'the rest as without it')
  })

  for (const target of ['/rtmp_stat?format=json', '/stat_json']) {
    await t.test(`${target}: the JSON of the contract, the XML's values`, async (t) => {
      const xml = parseStatXml(await node.stat())
      const res = await node.get(target)
      t.equal(res.status, 200, '200')
      t.equal(header(res, 'Content-Type'), 'application/json', 'application/json')
      t.equal(header(res, 'Content-Length'), String(res.body.length), 'Content-Length')
      const j = JSON.parse(res.body.toString('utf8')) as Obj
      const r = j.rtmp as Obj
      t.same(keys(j), ['rtmp'], '{"rtmp": …}')
      t.same(keys(r), ['nginx_version', 'nginx_rtmp_version', 'compiler', 'built', 'pid', 'uptime', 'naccepted', 'bw_in', 'bytes_in',
        'bw_out', 'bytes_out', 'servers'], 'rtmp\'s keys')
      const srv = (r.servers as Obj[])[0]
      t.same(keys(srv), ['serverid', 'live'], 'a server\'s keys')
      t.same(keys(srv.live), ['streams', 'nclients'], 'live\'s keys')
      const [cam1, p1] = (srv.live as Obj).streams as Obj[]
      t.same(keys(cam1), ['app', 'name', 'time', 'bw_in', 'bytes_in', 'bw_out', 'bytes_out', 'bw_audio', 'bw_video', 'clients', 'meta',
        'nclients', 'publishing', 'active'], 'a stream\'s keys')
      t.same([cam1.app, p1.app], ['live', 'push'], 'each stream\'s app')
      const clients = cam1.clients as Obj[]
      t.same(clients.map(keys), [
        ['id', 'address', 'remote_address', 'time', 'dropped', 'avsync', 'timestamp', 'publishing', 'active', 'protocol'],
        ['id', 'address', 'remote_address', 'time', 'flashver', 'dropped', 'avsync', 'timestamp', 'publishing', 'active', 'protocol'],
        ['id', 'address', 'remote_address', 'time', 'flashver', 'dropped', 'avsync', 'timestamp', 'publishing', 'active', 'protocol'],
      ], 'clients\' keys, last joined first: the HTTP-FLV player has no flashver, the pull leg has its RTMP player\'s')
      t.same(clients.map((c) => c.protocol), ['flv', 'rtmp', 'rtmp'], 'protocol: the HTTP-FLV player flv, the pull leg and the RTMP player rtmp')
      t.same(steadyOfJson(j), steadyOfXml(xml), 'the same values as the XML (those that stay put)')
      const xmlStreams = all(one(one(xml, 'server'), 'live'), 'stream')
      const grew = ['time', 'bytes_in', 'bytes_out'].every((k) => xmlStreams.every((s, i) =>
        Number(((srv.live as Obj).streams as Obj[])[i][k]) >= Number(textOf(s, k))))
      t.ok(grew, 'time and bytes: at least the XML\'s, asked just before')
      t.ok(Number(r.bytes_in) >= Number(textOf(xml, 'bytes_in')) && Number(r.uptime) >= Number(textOf(xml, 'uptime')), 'node bytes and uptime too')
    })
  }

  await t.test('sys_stat: one space, then JSON; no Content-Type; §9.3\'s keys', async (t) => {
    const res = await node.get('/sys_stat')
    t.equal(res.status, 200, '200')
    t.equal(header(res, 'Content-Type'), undefined, 'no Content-Type')
    t.equal(header(res, 'Content-Length'), String(res.body.length), 'Content-Length')
    const body = res.body.toString('utf8')
    t.equal(body.slice(0, 2), ' {', 'starts with one space')
    const j = JSON.parse(body) as Obj
    t.same(keys(j), ['ngx_worker', 'ngx_process_slot', 'ngx_pid', 'live_stream'], 'top keys')
    t.equal(j.ngx_pid, node.edge.child.pid, 'ngx_pid: the node\'s')
    const ls = j.live_stream as Obj
    t.same(keys(ls), ['server_version', 'compiler', 'built', 'pid', 'timestamp', 'naccepted', 'in', 'out', 'server_array'], 'live_stream\'s keys')
    t.equal(ls.server_version, '1.17.5', 'server_version')
    t.ok(Math.abs(Number(ls.timestamp) - Date.now() / 1000) < 5, 'timestamp: unix seconds, now')
    t.same([keys(ls.in), keys(ls.out)], [['bw', 'bytes'], ['bw', 'bytes']], 'in, out: bw and bytes')
    const srv = (ls.server_array as Obj[])[0]
    t.same(keys(srv), ['serverid', 'stream_array', 'total_clients', 'rtmp_clients', 'flv_clients', 'hls_clients', 'ts_clients'], 'a server\'s keys')
    t.equal(srv.serverid, 'edge', 'serverid')
    const streams = srv.stream_array as Obj[]
    t.same(streams.map((s) => s.name), ['edge/live/cam1', 'edge/push/p1'], 'stream names: the full stream key')
    t.same(keys(streams[0]), ['name', 'time', 'in', 'video_in', 'audio_in', 'out', 'client_array', 'meta', 'total_clients', 'rtmp_clients',
      'flv_clients', 'hls_clients', 'ts_clients', 'active'], 'a stream\'s keys')
    const clientKeys = ['id', 'address', 'remote_address', 'time', 'dropped', 'avsync', 'timestamp', 'publishing', 'active', 'protocol', 'relay', 'interprocess']
    const cam1Clients = streams[0].client_array as Obj[]
    t.same(cam1Clients.map((c) => keys(c).filter((k) => k !== 'flashver').sort()), cam1Clients.map(() => [...clientKeys].sort()),
      'a client\'s keys (and flashver where there is one)')
    t.same(cam1Clients.map((c) => [c.relay, c.publishing]), [[false, false], [true, true], [false, false]],
      'cam1: the pull leg is a relay')
    t.same((streams[1].client_array as Obj[]).map((c) => [c.relay, c.publishing]), [[true, false], [false, true]],
      'p1: the push leg is a relay, the publisher publishes')
    const counts = (o: Obj): number[] => [o.total_clients, o.rtmp_clients, o.flv_clients, o.hls_clients, o.ts_clients].map(Number)
    t.same(streams.map(counts), [[2, 1, 1, 0, 0], [0, 0, 0, 0, 0]], 'stream counters: players only (no publisher, no relay leg)')
    t.same(counts(srv), [2, 1, 1, 0, 0], 'server counters: the same, summed')
  })
})
