// The typed tree: PingOS defaults, inheritance rtmp → server → application and
// http → server → location, application *, serverid per listening address, parsed values.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../lib/conf/check.js'
import type {
  AppConf, AppNotifyConf, EventsConf, HttpServerConf, LocationConf, MainConf, RtmpConf, RtmpServerConf,
} from '../../lib/conf/tree.js'
import { parseSize, parseTime, parseTimeMs, TIMER_MAX_MS } from '../../lib/conf/values.js'
import { selectServer } from '../../lib/core/vhost.js'

const dir = mkdtempSync(join(tmpdir(), 'edge-tree-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

function load(text: string): MainConf {
  const file = join(dir, `c${n++}.conf`)
  writeFileSync(file, 'events {}\n' + text)
  return loadConfig({ prefix: dir, confFile: file, globals: null }).tree
}

function app(tree: MainConf, server: number, name: string): AppConf {
  const srv = tree.rtmp?.servers[server] as RtmpServerConf
  const found = name === '*' ? srv.starApplication : srv.applications.find((a) => a.name === name)
  if (found == null) throw new Error(`no application ${name}`)
  return found
}

t.test('values: nginx time and size syntax', async (t) => {
  t.equal(parseTimeMs('3'), 3000, 'a bare number is seconds')
  t.equal(parseTimeMs('500ms'), 500)
  t.equal(parseTimeMs('1m30s'), 90_000)
  t.equal(parseTimeMs('1h'), 3_600_000)
  t.equal(parseTimeMs('2d'), 172_800_000)
  t.equal(parseTimeMs('1s1m'), null, 'units must decrease')
  t.equal(parseTimeMs('5x'), null)
  t.equal(parseTimeMs(''), null)
  t.equal(parseTimeMs('1h 5m'), 3_900_000, 'spaces after a unit')
  t.equal(parseTimeMs('1m30'), 90_000, 'a trailing number is seconds (ngx_parse_time)')
  t.equal(parseTimeMs('1s30'), 31_000, '... even after s')
  t.equal(parseTimeMs('30 '), 30_000, 'a space ends a number of seconds')
  t.equal(parseTimeMs('1y'), null, 'msec slots refuse years')
  t.equal(parseTimeMs('1M'), null, '... and months')
  t.equal(parseTimeMs('52w'), TIMER_MAX_MS, 'times past a Node timer are held at its limit')
  t.equal(parseTime('1y', 's'), 31_536_000, 'sec slots take years')
  t.equal(parseTime('1M', 's'), 2_592_000, '... and months')
  t.equal(parseTime('500ms', 's'), null, '... but not ms')
  t.equal(parseSize('6291456'), 6291456)
  t.equal(parseSize('64k'), 65536)
  t.equal(parseSize('6M'), 6 * 1024 * 1024)
  t.equal(parseSize('1g'), null, 'g is for offsets only')
})

t.test('PingOS defaults (§1.5, §1.6, §1.10)', async (t) => {
  const tree = load('rtmp { server { application live { } } }')
  const srv = tree.rtmp?.servers[0] as RtmpServerConf
  t.match(srv, {
    serverId: 'default', timeoutMs: 60_000, pingMs: 60_000, pingTimeoutMs: 30_000, maxStreams: 64,
    ackWindow: 5_000_000, chunkSize: 4096, maxMessageBytes: 1024 * 1024, outQueue: 2048, outCork: 256,
    playTimeFix: true, publishTimeFix: true, hevcCodecId: 12,
  })
  t.same(tree.rtmp?.listeners.map((l) => l.address.text), ['0.0.0.0:1935'], 'no listen → 0.0.0.0:1935')
  t.match(app(tree, 0, 'live'), {
    live: false, idleStreams: true, waitKey: true, waitVideo: false, syncMs: 300, cacheTimeMs: 0,
    sendAll: false, lowLatency: false, fixTimestampMs: 10_000, meta: 'on', relayReconnectMs: 3000,
    failedReconnectMs: 50, relayBufferMs: 5000, pull: null, pushes: [], onMetaOnce: true, onMetaType: 'video',
  })
  t.equal(tree.daemon, true)
  t.same(tree.errorLogs, [{ path: 'stderr', level: 'error' }])
})

t.test('inheritance rtmp → server → application', async (t) => {
  const tree = load(`rtmp {
    cache_time 2s; timeout 10s; live on;
    allow play 10.0.0.0/8;
    server {
      listen 1935; cache_time 3s; chunk_size 60000;
      deny play all;
      application a { }
      application b { cache_time 500ms; live off; allow publish 127.0.0.1; }
    }
    server { listen 1936; application c { } }
  }`)
  t.equal(app(tree, 0, 'a').cacheTimeMs, 3000, 'server overrides rtmp')
  t.equal(app(tree, 0, 'b').cacheTimeMs, 500, 'application overrides server')
  t.equal(app(tree, 1, 'c').cacheTimeMs, 2000, 'rtmp level reaches every server')
  t.equal(app(tree, 0, 'a').live, true)
  t.equal(app(tree, 0, 'b').live, false)
  t.equal(tree.rtmp?.servers[1].timeoutMs, 10_000)
  t.equal(tree.rtmp?.servers[0].chunkSize, 60000)
  t.same(app(tree, 0, 'b').access.map((r) => [r.allow, r.action, r.match.kind]),
    [[true, 'play', 'ipv4'], [false, 'play', 'all'], [true, 'publish', 'ipv4']], 'access rules parent first')
})

t.test('merge_time and merge_frame: defaults 40ms and 32, per application, inherited', async (t) => {
  const tree = load(`rtmp {
    merge_time 100ms;
    server {
      listen 1935; merge_frame 8;
      application a { }
      application b { merge_time 0; merge_frame 64; }
    }
    server { listen 1936; application c { } }
  }`)
  t.same([app(tree, 0, 'a').mergeTimeMs, app(tree, 0, 'a').mergeFrame], [100, 8], 'rtmp and server levels reach the application')
  t.same([app(tree, 0, 'b').mergeTimeMs, app(tree, 0, 'b').mergeFrame], [0, 64], 'the application overrides them')
  t.same([app(tree, 1, 'c').mergeTimeMs, app(tree, 1, 'c').mergeFrame], [100, 32], 'merge_frame default')
  const plain = load('rtmp { server { listen 1935; application e { } } }')
  t.same([app(plain, 0, 'e').mergeTimeMs, app(plain, 0, 'e').mergeFrame], [40, 32], 'defaults')
})

t.test('application * and serverid per listening address (§1.9)', async (t) => {
  const tree = load(`rtmp {
    server { listen 1935; serverid a; server_name a.test; application * { live on; } application * { live off; } }
    server { listen 1935; serverid b; server_name b.test *.b.test; application live { } }
    server { listen 1936; serverid c; listen 1937 default_server; }
  }`)
  t.equal(app(tree, 0, '*').live, false, 'the last * wins')
  const l1935 = tree.rtmp?.listeners.find((l) => l.address.text === '0.0.0.0:1935')
  t.equal(l1935?.serverId, 'a', 'the default server of the address gives the serverid')
  t.equal(l1935?.servers.length, 2)
  const s = tree.rtmp?.servers ?? []
  t.equal(selectServer(s.slice(0, 2), s[0], 'b.test'), s[1])
  t.equal(selectServer(s.slice(0, 2), s[0], 'x.b.test'), s[1], 'leading wildcard')
  t.equal(selectServer(s.slice(0, 2), s[0], 'nope'), s[0], 'no match → default server')
  t.equal(tree.rtmp?.listeners.find((l) => l.address.text === '0.0.0.0:1937')?.defaultServer, s[2])
})

t.test('pull, push and notify values', async (t) => {
  const tree = load(`rtmp { server { application live {
    pull rtmp://127.0.0.1:1937 RTMP://core:1936 http://10.0.0.1 domain=core.example.com APP=live pargs=a=b;
    push rtmp://10.0.0.2/live/x name=s;
    push rtmp://10.0.0.3:1940;
    on_pull http://127.0.0.1:6080/n?k=v stage=start,update,done update=2 timeout=1s args=sid=$serverid&$pargs&t=$parg_tok groupid=g1;
    on_play http://127.0.0.1:6080/p;
  } } }`)
  const a = app(tree, 0, 'live')
  t.same(a.pull?.urls.map((u) => [u.scheme, u.host, u.port]),
    [['rtmp', '127.0.0.1', 1937], ['rtmp', 'core', 1936], ['http', '10.0.0.1', 80]])
  t.match(a.pull, { domain: 'core.example.com', app: 'live', name: '', pargs: 'a=b', referer: '', userAgent: '' })
  t.same(a.pushes.map((p) => [p.urls[0].port, p.name]), [[1935, 's'], [1940, '']])
  t.match(a.notify.pull, {
    url: 'http://127.0.0.1:6080/n?k=v', stages: { update: true, done: true }, updateMs: 2000, timeoutMs: 1000, groupId: 'g1',
    parsed: { host: '127.0.0.1', port: 6080, path: '/n', query: 'k=v' },
  })
  t.same(a.notify.pull?.args?.template,
    ['sid=', { variable: 'serverid' }, '&', { variable: 'pargs' }, '&t=', { variable: 'parg_tok' }])
  t.match(a.notify.play, { stages: { update: false, done: false }, timeoutMs: 3000, updateMs: 60_000, args: null })
})

t.test('http: locations, flv_live, inheritance and paths', async (t) => {
  const tree = load(`rtmp { server { listen 127.0.0.1:19351; } }
  http {
    chunked_transfer_encoding off;
    add_header X-A 1;
    server {
      listen 8080;
      location / { root www; }
      location /flv { flv_live 127.0.0.1:19351 app=live audio=0; add_header X-B 2 always; }
      location /live { flv_live 127.0.0.1:19351; chunked_transfer_encoding on; }
      location ~ \\.m3u8$ { types { application/vnd.apple.mpegurl m3u8; } }
      location /stat { rtmp_stat all; }
    }
  }`)
  const locs = tree.http?.servers[0].locations ?? []
  t.same(locs.map((l) => [l.modifier, l.path, l.handler.kind]),
    [['', '/', 'static'], ['', '/flv', 'flv_live'], ['', '/live', 'flv_live'], ['~', '\\.m3u8$', 'static'], ['', '/stat', 'rtmp_stat']])
  t.match(locs[1].handler, { rtmpListen: '127.0.0.1:19351', app: 'live', audio: false, video: true })
  t.same(locs[1].addHeaders, [{ name: 'X-B', value: '2', always: true }], 'add_header of the level replaces the parent list')
  t.same(locs[0].addHeaders, [{ name: 'X-A', value: '1', always: false }], 'inherited when the level has none')
  t.equal(locs[1].chunkedTransferEncoding, false)
  t.equal(locs[2].chunkedTransferEncoding, true)
  t.equal(locs[0].root, join(dir, 'www'), 'root resolves against the prefix')
  t.equal(locs[3].types.get('m3u8'), 'application/vnd.apple.mpegurl')
  t.equal(tree.http?.servers[0].listens[0].address.text, '0.0.0.0:8080')
})

// Every field of each conf the builders fill, listed here so that the compiler checks the list
// against tree.ts: the slots of the directive table and the builders together must fill each.
const FIELDS = {
  main: keys<MainConf>({
    prefix: 1, confFile: 1, daemon: 1, masterProcess: 1, workerProcesses: 1, pidPath: 1, errorLogs: 1,
    connectTimeoutMs: 1, sendTimeoutMs: 1, headerTimeoutMs: 1, keepaliveMs: 1, events: 1, rtmp: 1, http: 1,
  }),
  events: keys<EventsConf>({ workerConnections: 1, resolver: 1, resolverTimeoutMs: 1, dynamicRefreshIntervalMs: 1 }),
  rtmp: keys<RtmpConf>({ servers: 1, listeners: 1, staticPullPort: 1, onProc: 1, onMaster: 1, fastReload: 1 }),
  rtmpServer: keys<RtmpServerConf>({
    listens: 1, serverNames: 1, serverId: 1, applications: 1, starApplication: 1, timeoutMs: 1, pingMs: 1,
    pingTimeoutMs: 1, busy: 1, maxStreams: 1, ackWindow: 1, chunkSize: 1, maxMessageBytes: 1, outQueue: 1,
    outCork: 1, buflenMs: 1, playTimeFix: 1, publishTimeFix: 1, tcpNodelay: 1, hevcCodecId: 1, maxConnections: 1,
    where: 1,
  }),
  app: keys<AppConf>({
    name: 1, live: 1, idleStreams: 1, waitKey: 1, waitVideo: 1, syncMs: 1, interleave: 1, bufferMs: 1,
    publishNotify: 1, playRestart: 1, dropIdlePublisherMs: 1, cacheTimeMs: 1, mergeFrame: 1, mergeTimeMs: 1,
    sendAll: 1, lowLatency: 1, fixTimestampMs: 1, zeroStart: 1, meta: 1, relayReconnectMs: 1,
    failedReconnectMs: 1, relayBufferMs: 1, pull: 1, pushes: 1, notify: 1, onMetaOnce: 1, onMetaType: 1,
    ignoreInvalidNotify: 1, access: 1, recorders: 1, where: 1,
  }),
  appNotify: keys<AppNotifyConf>({ play: 1, publish: 1, pull: 1, stream: 1, record: 1, push: 1, meta: 1 }),
  httpServer: keys<HttpServerConf>({
    listens: 1, serverNames: 1, sslCertificate: 1, sslCertificateKey: 1, locations: 1, where: 1,
  }),
  location: keys<LocationConf>({
    modifier: 1, path: 1, regex: 1, handler: 1, root: 1, alias: 1, index: 1, addHeaders: 1, types: 1,
    defaultType: 1, chunkedTransferEncoding: 1, rtmpStatStylesheet: 1, rtmpStatFormat: 1, access: 1, locations: 1, where: 1,
  }),
}

function keys<T>(fields: Record<keyof T, 1>): string[] {
  return Object.keys(fields).sort()
}

function fieldsOf(conf: object): string[] {
  return Object.entries(conf).filter(([, v]) => v !== undefined).map(([k]) => k).sort()
}

t.test('every field of the tree is filled, from a slot or by its builder', async (t) => {
  const tree = load(`rtmp { server { application live { } } }
  http { server { listen 8080; location / { } } }`)
  const srv = tree.rtmp?.servers[0] as RtmpServerConf
  t.same(fieldsOf(tree), FIELDS.main, 'main')
  t.same(fieldsOf(tree.events), FIELDS.events, 'events')
  t.same(fieldsOf(tree.rtmp as RtmpConf), FIELDS.rtmp, 'rtmp')
  t.same(fieldsOf(srv), FIELDS.rtmpServer, 'rtmp server')
  t.same(fieldsOf(app(tree, 0, 'live')), FIELDS.app, 'application')
  t.same(fieldsOf(app(tree, 0, 'live').notify), FIELDS.appNotify, 'application notify')
  const http = tree.http?.servers[0] as HttpServerConf
  t.same(fieldsOf(http), FIELDS.httpServer, 'http server')
  t.same(fieldsOf(http.locations[0]), FIELDS.location, 'location')
})

t.test('values as PingOS types them', async (t) => {
  const tree = load(`tcp_nodelay off;
  rtmp {
    out_queue 10k;
    server { listen 1935; application live { oclp_meta_type AUDIO; on_meta_once off extra; } }
    server { listen 1936; out_cork 1m; application live { sync OFF; } }
  }`)
  const [a, b] = tree.rtmp?.servers ?? []
  t.equal(a.outQueue, 10_240, 'out_queue is a size slot')
  t.equal(a.outCork, 1280, 'out_cork defaults to the merged out_queue / 8')
  t.equal(b.outCork, 1024 * 1024, 'out_cork is a size slot')
  t.equal(a.tcpNodelay, true, "the client module's tcp_nodelay (main) is not rtmp's")
  t.equal(app(tree, 0, 'live').onMetaType, 'audio', 'oclp_meta_type fills on_meta_type (one enum, any case)')
  t.equal(app(tree, 0, 'live').onMetaOnce, false, 'a flag declared 1MORE reads its first argument')
  t.equal(app(tree, 1, 'live').syncMs, null, 'sync OFF')
  t.throws(() => load('rtmp { on_meta_once on; oclp_meta_once off; }'),
    { message: '"oclp_meta_once" directive is duplicate' }, 'on_meta_once and oclp_meta_once are one setting')
})
