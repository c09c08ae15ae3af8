// The seed's topology as a test (issue 11, "Done when"): every node a separate process on
// 127.0.0.1 with free ports.
//
//   ffmpeg a ─► ingest 1 ─push─┐                      ┌─► edge 1 (static pull rtmp://core) ──► ffprobe RTMP + HTTP-FLV, a and b
//                              ├─► core (cache_time) ─┤
//   ffmpeg b ─► ingest 2 ─push─┘   │ flv_live          └─► edge 2 (on_pull → 302 http://core/live/<name>) ──► ffprobe RTMP + HTTP-FLV
//                                  └─push─► recorder (record all; record_path <tmp>)
//
// 1. every node edge; the recorder's files play for the published duration;
// 2. Debian's nginx-rtmp as the core (edge ingest nodes push into it, it pushes to the edge
//    recorder, edge edges pull from it; on_pull's 302 points at its RTMP);
// 3. edge as the core for nginx-rtmp edge nodes pulling from it (`pull rtmp://core/live`).
// Publishers are ffmpeg looping the test media (H.264 + AAC, 2 s GOP) for PUBLISH_S seconds.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import {
  clusterEdge, ffmpegMissing, fileDurationS, fileStreams, probe, pullRedirector, sessionOf, timedPublisher, type TimedPublisher,
} from '../helpers/cluster.js'
import { nginxRtmpMissing, startNginxRtmp } from '../helpers/nginx-rtmp.js'
import type { LiveEdge } from '../helpers/node.js'
import { recordDir, RECORDING_MISSING } from '../helpers/recorded-files.js'
import { H264_AAC } from '../helpers/pull-scenarios.js'

/** the two published streams (ingest 1 gets a, ingest 2 gets b) */
const STREAMS = ['a', 'b'] as const
/** how long each ffmpeg publishes (long enough for every probe to run while it does) */
const PUBLISH_S = 25
/** bound on a publisher's stream reaching the core through its ingest node's push */
const PUSH_WAIT_MS = 20_000
/** bound on ffmpeg ending by itself after PUBLISH_S */
const PUBLISHER_END_MS = PUBLISH_S * 1000 + 15_000
/** bound on the recorder closing its files once the stream ended */
const RECORD_CLOSE_MS = 10_000
/** the recorded duration may differ from the published one by about a GOP (2 s) and the push's start */
const DURATION_TOLERANCE_S = 3
/** whole-topology bound */
const TOPOLOGY_TIMEOUT_MS = 150_000

const noNginx = (): string | false => ffmpegMissing() || nginxRtmpMissing()

/** `p`, or a rejection after `ms`. */
async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
  try {
    return await Promise.race([p, expired])
  } finally {
    clearTimeout(timer)
  }
}

/** Two ingest edges pushing to `coreRtmpPort`, and one ffmpeg publisher into each. */
async function ingest(t: Test, coreRtmpPort: number): Promise<{ nodes: LiveEdge[], publishers: TimedPublisher[] }> {
  const nodes = await Promise.all(STREAMS.map(() => clusterEdge(t, `push rtmp://127.0.0.1:${coreRtmpPort};`)))
  const publishers = STREAMS.map((name, i) => timedPublisher(t, `rtmp://127.0.0.1:${nodes[i].rtmpPort}/live/${name}`, PUBLISH_S))
  await Promise.all(STREAMS.map((name, i) => nodes[i].edge.waitForLog(new RegExp(`push: publishing[^\\n]*app: live, name: ${name}`), PUSH_WAIT_MS)))
  t.pass('both ingest nodes push their stream to the core (`push: publishing`)')
  return { nodes, publishers }
}

/** Probe every (player, stream) at once; each must decode H.264 and AAC. */
async function playersDecode(t: Test, players: Readonly<Record<string, (name: string) => string>>): Promise<void> {
  const runs = Object.entries(players).flatMap(([who, url]) => STREAMS.map(async (name) => ({ who, name, url: url(name), got: await probe(url(name)) })))
  for (const r of await Promise.all(runs)) {
    t.same(r.got, H264_AAC, `${r.who}, stream ${r.name}: ffprobe decodes h264 + aac (${r.url})`)
  }
}

/** Edge 1 (static pull from `pullUrl`) and edge 2 (on_pull answered 302 to `location(name)`). */
async function edgeNodes(t: Test, pullUrl: string, location: (name: string) => string) {
  const redirector = await pullRedirector(t, location)
  const [e1, e2] = await Promise.all([
    clusterEdge(t, `pull ${pullUrl} app=live;`),
    clusterEdge(t, `on_pull http://127.0.0.1:${redirector.port}/pull stage=start,done;`),
  ])
  const players = {
    'edge 1 (static pull) over RTMP': (name: string) => `rtmp://127.0.0.1:${e1.rtmpPort}/live/${name}`,
    'edge 1 (static pull) over HTTP-FLV': (name: string) => `http://127.0.0.1:${e1.httpPort}/flv/${name}?app=live`,
    'edge 2 (on_pull 302) over RTMP': (name: string) => `rtmp://127.0.0.1:${e2.rtmpPort}/live/${name}`,
    'edge 2 (on_pull 302) over HTTP-FLV': (name: string) => `http://127.0.0.1:${e2.httpPort}/flv/${name}?app=live`,
  }
  return { e1, e2, redirector, players }
}

/** The recorder edge: `record all; record_path <tmp dir>` (removed in teardown). */
async function recorderNode(t: Test): Promise<{ recorder: LiveEdge, recordDir: string }> {
  const dir = recordDir(t, 'edge-cluster-rec-')
  const recorder = await clusterEdge(t, `record all;\n            record_path ${dir};`)
  return { recorder, recordDir: dir }
}

/** Waits (bounded) until the sessions that published a and b into the recorder have closed. */
async function recorderClosed(recorder: LiveEdge): Promise<void> {
  const sessions = STREAMS.map((name) => sessionOf(recorder.edge, new RegExp(`publish: name='${name}'`)))
  await Promise.all(sessions.map((n) => recorder.edge.waitForLog(new RegExp(`\\*${n ?? -1} close: `), RECORD_CLOSE_MS)))
}

/** The recorder's files: a.flv and b.flv, h264 + aac, lasting the published duration. */
function expectRecordings(t: Test, recordDir: string, recorder: LiveEdge): void {
  t.test('the recorder\'s files play for the published duration', { skip: RECORDING_MISSING }, async (t) => {
    const files = readdirSync(recordDir).sort()
    t.same(files, ['a.flv', 'b.flv'], `record all; record_path: one <name>.flv per stream (${files.join(', ')})`)
    for (const name of STREAMS) {
      const file = join(recordDir, `${name}.flv`)
      t.same(await fileStreams(file), H264_AAC, `${name}.flv: ffprobe reads h264 + aac`)
      const duration = await fileDurationS(file)
      t.ok(Math.abs(duration - PUBLISH_S) <= DURATION_TOLERANCE_S, `${name}.flv lasts ${duration} s (published ${PUBLISH_S} s ± ${DURATION_TOLERANCE_S})`)
    }
    t.notMatch(recorder.edge.log(), /record[^\n]*(failed|error)/i, 'the recorder logged no record failure')
  })
}

t.test('every node edge: ingest → core → recorder and two edges → four players', { skip: ffmpegMissing(), timeout: TOPOLOGY_TIMEOUT_MS }, async (t) => {
  const { recorder, recordDir } = await recorderNode(t)
  const core = await clusterEdge(t, `cache_time 1s;\n            push rtmp://127.0.0.1:${recorder.rtmpPort};`, { '/': '' })
  const { e1, e2, redirector, players } = await edgeNodes(t, `rtmp://127.0.0.1:${core.rtmpPort}`,
    (name) => `http://127.0.0.1:${core.httpPort}/live/${name}`)
  const { nodes, publishers } = await ingest(t, core.rtmpPort)
  await Promise.all(STREAMS.map((name) => core.edge.waitForLog(new RegExp(`push: publishing[^\\n]*app: live, name: ${name}`), PUSH_WAIT_MS)))
  t.pass('the core pushes both streams to the recorder')

  await playersDecode(t, players)
  for (const name of STREAMS) {
    t.ok(redirector.requests.some((r) => r.line.startsWith(`GET /pull?call=pull&act=start&domain=127.0.0.1&app=live&name=${name}&`)),
      `edge 2 asked on_pull for ${name}`)
    t.match(core.edge.log(), new RegExp(`flv play: app='live' name='${name}'`), `edge 2 pulled ${name} from the core over HTTP-FLV`)
    t.match(core.edge.log(), new RegExp(`play: name='${name}'[^\\n]*`), `edge 1 pulled ${name} from the core over RTMP`)
    t.match(recorder.edge.log(), new RegExp(`publish: name='${name}'`), `the recorder got ${name} as a publish`)
  }
  t.match(e1.edge.log(), /pull: publishing/, 'edge 1 logged its pull publishing')
  t.match(e2.edge.log(), /pull: publishing/, 'edge 2 logged its pull publishing')

  // the publishers end by themselves: every push leg down the line closes
  await bounded(Promise.all(publishers.map((p) => p.exited)), PUBLISHER_END_MS, 'the publishers to end')
  await Promise.all(STREAMS.map((name, i) => nodes[i].edge.waitForLog(new RegExp(`push: stopped: [^\\n]*app: live, name: ${name}`), RECORD_CLOSE_MS)))
  t.pass('each ingest node stopped its push when its publisher left')
  await recorderClosed(recorder)
  t.pass('the core\'s push sessions into the recorder closed')
  for (const node of [recorder, core, e1, e2, ...nodes]) {
    t.notMatch(node.edge.log(), /\[(alert|crit|emerg)\]|internal error/, `no [alert]/[crit]/[emerg]/internal error on the node at :${node.rtmpPort}`)
  }

  expectRecordings(t, recordDir, recorder)
})

t.test('nginx-rtmp as the core: edge ingest nodes push into it, it pushes to the edge recorder, edge edges pull from it', {
  skip: noNginx(), timeout: TOPOLOGY_TIMEOUT_MS,
}, async (t) => {
  const { recorder, recordDir } = await recorderNode(t)
  const nginx = await startNginxRtmp(t, `application live { live on; push rtmp://127.0.0.1:${recorder.rtmpPort}/live; }`)
  const { players } = await edgeNodes(t, `rtmp://127.0.0.1:${nginx.port}`, (name) => `rtmp://127.0.0.1:${nginx.port}/live/${name}`)
  const { publishers } = await ingest(t, nginx.port)
  await playersDecode(t, players)
  const log = nginx.errorLog()
  for (const name of STREAMS) {
    t.match(log, new RegExp(`publish: name='${name}' args='' type=live`), `nginx-rtmp logged the push of ${name} as a live publish`)
    t.match(recorder.edge.log(), new RegExp(`publish: name='${name}'`), `nginx-rtmp pushed ${name} into the edge recorder`)
  }
  t.match(log, /connect: app='live' args='' flashver='FMLE\/3\.0 \(compatible; Lavf[^']*' swf_url='' tc_url='rtmp:\/\/127\.0\.0\.1\/live' page_url='' acodecs=3575 vcodecs=252/,
    'the pushes connected as §14.1 observed (publisher\'s flashVer, tcUrl without port, audioCodecs 3575, videoCodecs 252)')

  await bounded(Promise.all(publishers.map((p) => p.exited)), PUBLISHER_END_MS, 'the publishers to end')
  await recorderClosed(recorder)
  t.pass('nginx-rtmp\'s push sessions into the recorder closed')
  t.notMatch(recorder.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert]/[crit]/[emerg]/internal error on the recorder')
  expectRecordings(t, recordDir, recorder)
})

t.test('edge as the core for nginx-rtmp edge nodes pulling from it', { skip: noNginx(), timeout: TOPOLOGY_TIMEOUT_MS }, async (t) => {
  const core = await clusterEdge(t, 'cache_time 1s;')
  const pullApp = `application live { live on; pull rtmp://127.0.0.1:${core.rtmpPort}/live; }`
  const [n1, n2] = [await startNginxRtmp(t, pullApp), await startNginxRtmp(t, pullApp)]
  await ingest(t, core.rtmpPort)
  await playersDecode(t, {
    'nginx-rtmp edge 1 over RTMP': (name) => `rtmp://127.0.0.1:${n1.port}/live/${name}`,
    'nginx-rtmp edge 2 over RTMP': (name) => `rtmp://127.0.0.1:${n2.port}/live/${name}`,
  })
  for (const name of STREAMS) {
    const plays = core.edge.log().split('\n').filter((l) => l.includes(`play: name='${name}'`) && !l.includes('flv play'))
    t.equal(plays.length, 2, `the core served ${name} to the two nginx-rtmp edges: one RTMP play each (${plays.length})`)
  }
  t.notMatch(core.edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert]/[crit]/[emerg]/internal error on the core')
})
