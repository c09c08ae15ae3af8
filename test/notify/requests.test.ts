// Notification request targets, byte for byte (pingos-behaviour.md §4.2, §4.7, §6;
// pingos-observed.md §12, §13.3): built from a loaded config, as the node builds them. The
// requests that a running node sends are checked end to end in test/interop/ and test/notify/.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../lib/conf/check.js'
import type { AppConf, MainConf, NotifyConf } from '../../lib/conf/tree.js'
import {
  masterTarget, metadataString, metadataVariable, NotifySubject, notifyTarget, processVariable, procTarget, recordFields,
} from '../../lib/notify/events.js'
import type { PlayInfo } from '../../lib/stages.js'

const dir = mkdtempSync(join(tmpdir(), 'edge-notify-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

function load(rtmpLevel: string, app: string): MainConf {
  const file = join(dir, `c${n++}.conf`)
  writeFileSync(file, `events {}\nrtmp {\n${rtmpLevel}\nserver { listen 127.0.0.1:1935; serverid edgeA;\napplication live { live on;\n${app}\n} } }\n`)
  return loadConfig({ prefix: dir, confFile: file, globals: null }).tree
}

function liveApp(tree: MainConf): AppConf {
  return tree.rtmp?.servers[0].applications[0] as AppConf
}

/** Player R of observed §12: `rtmp://127.0.0.1:29350/live/s1?tok=abc&x=1`. */
const PLAYER: PlayInfo = {
  clientId: 3, domain: '127.0.0.1', app: 'live', name: 's1', pargs: 'tok=abc&x=1', args: '', flashVer: 'LNX 9,0,124,2',
  swfUrl: '', tcUrl: 'rtmp://127.0.0.1:29350/live', pageUrl: '', audioCodecs: 3575, videoCodecs: 252, scheme: 'rtmp',
  serverId: 'edgeA', remoteAddr: '127.0.0.1', remotePort: '52468', serverAddr: '127.0.0.1', serverPort: '29350', listen: '0.0.0.0:1935',
}

t.test('on_play start: the observed query, raw values, spaces and all', async (t) => {
  const app = liveApp(load('', 'on_play http://127.0.0.1:28090/play stage=start,update,done update=2s timeout=2s ' +
    'args=ip=$remote_addr&port=$remote_port&sid=$serverid&sch=$scheme&app=$app&name=$name&dom=$domain&fv=$flashver&tc=$tc_url&pu=$page_url&$pargs;'))
  const who = new NotifySubject(PLAYER, { clientId: PLAYER.clientId, logCtx: {} })
  const conf = app.notify.play as NotifyConf
  t.equal(notifyTarget(conf, 'play', 'start', who),
    '/play?call=play&act=start&domain=127.0.0.1&app=live&name=s1&clientid=3&ip=127.0.0.1&port=52468&sid=edgeA&sch=rtmp' +
    '&app=live&name=s1&dom=127.0.0.1&fv=LNX 9,0,124,2&tc=rtmp://127.0.0.1:29350/live&pu=&tok=abc&x=1')
  t.equal(notifyTarget(conf, 'play', 'done', who), notifyTarget(conf, 'play', 'start', who).replace('act=start', 'act=done'),
    'done repeats start but for act=')
})

t.test('a URL with a query gets "&call="; groupid before the args; empty args leave no "&"', async (t) => {
  const app = liveApp(load('', 'on_stream http://127.0.0.1:28090/n?k=v groupid=g1 args=$parg_nosuch;'))
  const who = new NotifySubject(PLAYER, { clientId: 3, logCtx: {} })
  t.equal(notifyTarget(app.notify.stream as NotifyConf, 'stream', 'start', who),
    '/n?k=v&call=stream&act=start&domain=127.0.0.1&app=live&name=s1&clientid=3&groupid=g1')
})

t.test('variables are evaluated once per session (§6.3)', async (t) => {
  let calls = 0
  const who = new NotifySubject(PLAYER, { clientId: 3, logCtx: {}, metadata: () => { calls++; return calls === 1 ? { width: 640 } : { width: 1280 } } })
  t.equal(who.variable('metadata_width'), '640')
  t.equal(who.variable('metadata_width'), '640', 'the first value stays')
  t.equal(who.variable('time_local'), who.variable('time_local'))
  t.equal(who.variable('parg_TOK'), 'abc', '$parg_ names are case-insensitive')
  const leg = new NotifySubject(PLAYER, { clientId: 0, leg: true, groupId: 'g', logCtx: {} })
  t.same([leg.variable('remote_addr'), leg.variable('remote_port'), leg.variable('groupid'), leg.variable('pargs')], ['', '', 'g', 'tok=abc&x=1'],
    'a relay leg has no socket of its own (§3.3) but the trigger\'s fields')
})

t.test('$metadata from onMetaData values (compat: fps and audiocodec are real)', async (t) => {
  const meta = { width: 640, height: 360, duration: 20.04, framerate: 25, videodatarate: 781.25, videocodecid: 7, audiocodecid: 10, audiodatarate: 62.5 }
  t.equal(metadataString(meta),
    'width=640&height=360&duration=20&framerate=25.00&fps=25&videodatarate=781&videocodec=H264&audiocodec=AAC&audiodatarate=62')
  t.equal(metadataVariable({ videocodecid: 'hvc1' }, 'videocodec'), 'H265', 'enhanced RTMP FourCC')
  t.equal(metadataString(null), '', 'no publisher: empty')
})

t.test('on_record update/done carry the record fields after clientid (§4.2, observed §13.3)', async (t) => {
  const app = liveApp(load('', 'on_record http://127.0.0.1:28090/record stage=start,update,done args=ip=$remote_addr&$pargs;'))
  const who = new NotifySubject({ ...PLAYER, name: 's2', pargs: 'k=2', clientId: 1 }, { clientId: 1, logCtx: {} })
  t.equal(notifyTarget(app.notify.record as NotifyConf, 'record', 'done', who,
    recordFields(2657358, 2668248, '/rec/edgeA/lrec/s2/index/20261203/s2-1796323148.m3u8', '/rec/edgeA/lrec/s2/20261203/s2_1796323148.ts')),
  '/record?call=record&act=done&domain=127.0.0.1&app=live&name=s2&clientid=1&begintime=2657358&endtime=2668248' +
    '&index=/rec/edgeA/lrec/s2/index/20261203/s2-1796323148.m3u8&file=/rec/edgeA/lrec/s2/20261203/s2_1796323148.ts&ip=127.0.0.1&k=2')
})

t.test('on_proc and on_master (§4.7, observed §12)', async (t) => {
  const tree = load('on_proc http://127.0.0.1:28090/proc args=a=1;\non_master http://127.0.0.1:28090/master stage=start,update update=2s args=sid=$serverid&x=1&p=$pid;', '')
  const proc = tree.rtmp?.onProc as NotifyConf
  const master = tree.rtmp?.onMaster as NotifyConf
  t.equal(procTarget(proc, 0), '/proc?call=init_process&worker_id=0', 'args= ignored')
  const vars = (name: string): string => (name === 'serverid' ? 'edgeA' : processVariable(name))
  t.equal(masterTarget(master, 'start', vars), `/master?call=init_master&act=start&sid=edgeA&x=1&p=${process.pid}`, 'args expanded (compat fix)')
  t.equal(masterTarget(master, 'update', vars), `/master?call=init_master&act=update&sid=edgeA&x=1&p=${process.pid}`)
})
