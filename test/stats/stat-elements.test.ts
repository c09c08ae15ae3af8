// The stat XML of a node with a pull leg, a push leg, an RTMP and an HTTP-FLV player, compared
// element by element with what PingOS wrote for the same members (issue 12, "Done when";
// pingos-observed.md §15, whose elided parts are §9's). The node under test: `listen <port>`,
// `application live { pull <origin> }` and `application push { push <target> }`, the origin
// and the target each another edge; an HTTP-FLV player starts the pull of live/cam1, an RTMP
// player joins it, and ffmpeg publishes push/p1, as in §15.
//
// What is compared: each line of the document with its texts taken out (so the elements, their
// order, the flags and which optional elements are present), then the values that can match:
// ids, addresses, flashvers, counts, and <meta> against what ffprobe reads of each source.
import t from 'tap'
import { runProcess } from '../helpers/edge.js'
import { TEST_MEDIA } from '../helpers/node.js'
import { clientIdFromLog } from '../helpers/notify.js'
import { FFPROBE, FFPROBE_TIMEOUT_MS, PLAYER_R_FLASHVER } from '../helpers/pull-scenarios.js'
import { header } from '../helpers/raw-http.js'
import {
  clientsOf, one, parseStatXml, publishEncoded, section15Node, skeleton, STAT_WAIT_MS, statWhen, streamNamed,
  streamsOf, textOf, listsClients, type XmlElement,
} from '../helpers/stats.js'

/** §9's header, server and stream-head lines as observed (the parts §15 elides). */
const OBSERVED_HEAD = [
  '<?xml version="1.0" encoding="utf-8" ?>',
  '<rtmp>',
  '<nginx_version>1.17.5</nginx_version>',
  '<nginx_rtmp_version>1.1.4</nginx_rtmp_version>',
  '<compiler>gcc 12.2.0 (Debian 12.2.0-14+deb12u1) </compiler>',
  '<built>Nov 23 2026 20:43:45</built>',
  '<pid>24050</pid>',
  '<uptime>96</uptime>',
  '<naccepted>2</naccepted>',
  '<bw_in>1157816</bw_in>',
  '<bytes_in>2361443</bytes_in>',
  '<bw_out>1171840</bw_out>',
  '<bytes_out>2388470</bytes_out>',
]
const observedStreamHead = (name: string): string[] => [
  '<stream>',
  `<name>${name}</name>`,
  '<time>2976</time><bw_in>0</bw_in>',
  '<bytes_in>301125</bytes_in>',
  '<bw_out>0</bw_out>',
  '<bytes_out>604493</bytes_out>',
  '<bw_audio>0</bw_audio>',
  '<bw_video>0</bw_video>',
]
const OBSERVED_META = '<meta><video><width>640</width><height>360</height><frame_rate>25</frame_rate><codec>H264</codec><profile>Baseline</profile><compat>192</compat><level>3.0</level></video><audio><codec>AAC</codec><profile>LC</profile><channels>1</channels><sample_rate>44100</sample_rate></audio></meta>'
const OBSERVED_STREAM_TAIL = ['<publishing/>', '<active/>', '</stream>']

/** §15: an RTMP player, the pull leg, an HTTP-FLV player on live/s1; the push leg and the publisher of push/p1. */
const OBSERVED_15 = [
  ...OBSERVED_HEAD,
  '<server>',
  '<serverid>edgeA</serverid>',
  '<live>',
  ...observedStreamHead('s1'),
  '<client><id>3</id><address>127.0.0.1:29350</address><remote_address>127.0.0.1</remote_address><time>2832</time><flashver>LNX 9,0,124,2</flashver><dropped>0</dropped><avsync>-9</avsync><timestamp>4583</timestamp><active/></client>',
  '<client><id>0</id><address>127.0.0.1:29350</address><remote_address></remote_address><time>2976</time><dropped>0</dropped><avsync>-9</avsync><timestamp>4583</timestamp><publishing/><active/></client>',
  '<client><id>1</id><address>127.0.0.1:29350</address><remote_address>127.0.0.1</remote_address><time>2976</time><dropped>0</dropped><avsync>-9</avsync><timestamp>4583</timestamp><active/></client>',
  OBSERVED_META,
  '<nclients>3</nclients>',
  ...OBSERVED_STREAM_TAIL,
  ...observedStreamHead('p1'),
  '<client><id>0</id><address>127.0.0.1:29350</address><remote_address></remote_address><time>2728</time><flashver>FMLE/3.0 (compatible; Lavf59.27.100)</flashver><dropped>0</dropped><avsync>-10</avsync><timestamp>2703</timestamp><active/></client>',
  '<client><id>4</id><address>127.0.0.1:29350</address><remote_address>127.0.0.1</remote_address><time>2824</time><flashver>FMLE/3.0 (compatible; Lavf59.27.100)</flashver><dropped>0</dropped><avsync>-10</avsync><timestamp>2703</timestamp><publishing/><active/></client>',
  OBSERVED_META,
  '<nclients>2</nclients>',
  ...OBSERVED_STREAM_TAIL,
  '<nclients>5</nclients>',
  '</live>',
  '</server>',
  '</rtmp>',
  '',
].join('\r\n')

interface Probed {
  readonly codec_type: string
  readonly width?: number
  readonly height?: number
  readonly r_frame_rate?: string
  readonly profile?: string
  readonly level?: number
  readonly channels?: number
  readonly sample_rate?: string
}

/** What ffprobe reads of `url`'s streams. */
async function probe(url: string): Promise<Probed[]> {
  const r = await runProcess(FFPROBE, ['-v', 'error', '-rw_timeout', '15000000', '-show_entries',
    'stream=codec_type,width,height,r_frame_rate,profile,level,channels,sample_rate', '-of', 'json', url], { timeoutMs: FFPROBE_TIMEOUT_MS })
  if (r.code !== 0) throw new Error(`ffprobe ${url}: ${r.stderr}`)
  return (JSON.parse(r.stdout) as { streams: Probed[] }).streams
}

/**
 * The <meta> PingOS writes for what ffprobe read: nginx-rtmp names the H.264 profile by
 * profile_idc alone (ffprobe's "Constrained Baseline" is its "Baseline"), the level is
 * level_idc / 10, and compat is the constraint flags byte: x264 sets constraint_set0 and 1 for
 * (constrained) baseline (0xC0, as observed §9), none for High.
 */
function expectedMeta(streams: readonly Probed[]): string {
  const v = streams.find((s) => s.codec_type === 'video') as Probed
  const a = streams.find((s) => s.codec_type === 'audio') as Probed
  const [num, den] = (v.r_frame_rate ?? '0/1').split('/').map(Number)
  const profile = v.profile === 'Constrained Baseline' ? 'Baseline' : v.profile
  const compat = { Baseline: 192, High: 0 }[profile as 'Baseline' | 'High']
  return `<meta><video><width>${v.width}</width><height>${v.height}</height><frame_rate>${num / den}</frame_rate>` +
    `<codec>H264</codec><profile>${profile}</profile><compat>${compat}</compat><level>${((v.level ?? 0) / 10).toFixed(1)}</level></video>` +
    `<audio><codec>AAC</codec><profile>${a.profile}</profile><channels>${a.channels}</channels><sample_rate>${a.sample_rate}</sample_rate></audio></meta>`
}

/** The <meta> line of a stream element, rebuilt from its children. */
function metaLine(doc: string, stream: XmlElement): string {
  const name = textOf(stream, 'name')
  const block = doc.split('<stream>\r\n').find((b) => b.startsWith(`<name>${name}</name>`)) ?? ''
  return block.split('\r\n').find((l) => l.startsWith('<meta>')) ?? ''
}

t.test('§15: pull leg, push leg, RTMP and HTTP-FLV players: the document element by element', async (t) => {
  // §15's order: the HTTP-FLV player starts the pull, the RTMP player joins, then p1 is published
  const { target, node, h, r } = await section15Node(t)
  publishEncoded(t, `rtmp://127.0.0.1:${node.rtmpPort}/push/p1`)
  await node.edge.waitForLog(/push: publishing, app: push, name: p1/, STAT_WAIT_MS)
  await target.edge.waitForLog("publish: name='p1'", STAT_WAIT_MS)
  const [sourceMeta, pushedMeta] = [expectedMeta(await probe(TEST_MEDIA)), expectedMeta(await probe(`rtmp://127.0.0.1:${target.rtmpPort}/live/p1`))]
  await statWhen(node, (x) => listsClients('cam1', 3)(x) && listsClients('p1', 2)(x))
  const hId = await clientIdFromLog(node.edge, h.localPort)
  const rId = await clientIdFromLog(node.edge, r.client.socket.localPort ?? 0)
  const pubId = Number(/\*(\d+) publish: name='p1'/.exec(node.edge.log())?.[1])

  const res = await node.get('/rtmp_stat')
  t.equal(header(res, 'Content-Type'), 'text/xml', 'text/xml')
  const doc = res.body.toString('utf8')
  t.same(skeleton(doc), skeleton(OBSERVED_15), 'each line, texts aside, is the observed one')

  const rtmp = parseStatXml(doc)
  t.same(streamsOf(rtmp).map((s) => textOf(s, 'name')), ['cam1', 'p1'], 'the pulled stream, then the pushed one (as created)')
  const cam1 = streamNamed(rtmp, 'cam1')
  const p1 = streamNamed(rtmp, 'p1')
  const at = node.listenText
  t.same(clientsOf(cam1), [
    { id: rId, address: at, remote: '127.0.0.1', flashver: PLAYER_R_FLASHVER, publishing: false, active: true },
    { id: 0, address: at, remote: '', flashver: null, publishing: true, active: true },
    { id: hId, address: at, remote: '127.0.0.1', flashver: null, publishing: false, active: true },
  ], 'cam1, last joined first: the RTMP player (its flashver); the pull leg (id 0, <publishing/>, empty remote_address, no flashver: an HTTP-FLV player started it); the HTTP-FLV player (no flashver)')
  const [pushLeg, publisher] = clientsOf(p1)
  t.match(publisher?.flashver, /^FMLE\/3\.0 \(compatible; Lavf[\d.]+\)$/, 'the publisher: ffmpeg\'s flashver')
  t.same(clientsOf(p1), [
    { id: 0, address: at, remote: '', flashver: publisher?.flashver, publishing: false, active: true },
    { id: pubId, address: at, remote: '127.0.0.1', flashver: publisher?.flashver, publishing: true, active: true },
  ], 'p1: the push leg (id 0, no <publishing/>, the publisher\'s flashver), then the publisher')
  t.equal(pushLeg?.id, 0, 'the push leg is listed first: it joined after the publisher')

  t.equal(metaLine(doc, cam1), sourceMeta, `cam1's <meta> is what ffprobe reads of the published file: ${sourceMeta}`)
  t.equal(metaLine(doc, p1), pushedMeta, `p1's <meta> is what ffprobe reads of the live encode: ${pushedMeta}`)
  t.equal(textOf(cam1, 'nclients'), '3', 'cam1 <nclients>3</nclients>')
  t.equal(textOf(p1, 'nclients'), '2', 'p1 <nclients>2</nclients>')
  t.equal(textOf(one(one(rtmp, 'server'), 'live'), 'nclients'), '5', '<live> <nclients>5</nclients>')
})
