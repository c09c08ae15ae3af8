// Pieces of the operations tests (test/stats; issue 12; pingos-behaviour.md §9, §13 scenarios
// 26, 33, 34; pingos-observed.md §9, §15): the node under test (`listen <port>`, serverid edge,
// the operations locations), an origin that is another edge with ffmpeg publishing into it, a
// push target that is another edge, one-shot requests over a raw socket, and a small reader of
// the stat XML (elements, texts, and the document's skeleton: each line with its texts taken
// out, which is what the observed documents are compared on).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { Test } from 'tap'
import { freePort, publish, startEdge, startLiveEdge, type EdgeProcess, type LiveEdge } from './node.js'
import { MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { mediaCount, playerH, playerR, type PlayerR } from './pull-scenarios.js'
import { RawHttpClient, type RawResponse } from './raw-http.js'

/** bound on a publish or a play reaching a log line, and on media reaching a player */
export const STAT_WAIT_MS = 10_000

/** The operations locations of the node under test (the shipped conf's, plus the forms the tests read). */
export const OPERATIONS_LOCATIONS: Readonly<Record<string, string>> = {
  '/rtmp_stat': 'rtmp_stat all;',
  '/control': 'rtmp_control all;',
}

export interface StatEdge {
  readonly edge: EdgeProcess
  readonly rtmpPort: number
  readonly httpPort: number
  /** `listen <port>`'s address text, which <address> and `addr=` use */
  readonly listenText: string
  /** GET `target` on the HTTP port, the connection closed after the answer */
  get(target: string): Promise<RawResponse>
  /** /rtmp_stat's body */
  stat(): Promise<string>
}

/**
 * The node under test: `listen <rtmp port>; serverid edge;` with `apps` (name → lines after
 * `live on;`), and an http server on 127.0.0.1 with HTTP-FLV at /flv (`flv_live <rtmp port>`)
 * and `locations` (path → its lines). Stopped in t's teardown.
 */
export async function startStatEdge(t: Test, apps: Readonly<Record<string, string>>,
  locations: Readonly<Record<string, string>> = OPERATIONS_LOCATIONS): Promise<StatEdge> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const blocks = Object.entries(apps)
    .map(([name, body]) => `        application ${name} {\n            live on;\n            ${body}\n        }`)
  const locs = Object.entries(locations).map(([path, body]) => `        location ${path} { ${body} }`)
  const edge = await startEdge(`events {}
rtmp {
    server {
        listen ${rtmpPort};
        serverid edge;
${blocks.join('\n')}
    }
}
http {
    server {
        listen 127.0.0.1:${httpPort};
        location /flv { flv_live ${rtmpPort}; }
${locs.join('\n')}
    }
}
`)
  t.teardown(() => edge.stop())
  const get = (target: string): Promise<RawResponse> => httpGet(httpPort, target)
  return {
    edge,
    rtmpPort,
    httpPort,
    listenText: `0.0.0.0:${rtmpPort}`,
    get,
    stat: async () => (await get('/rtmp_stat')).body.toString('latin1'),
  }
}

/** One GET over a fresh connection: the answer framed by its Content-Length. */
export async function httpGet(port: number, target: string): Promise<RawResponse> {
  const c = await RawHttpClient.request(port, target)
  try {
    return await c.response()
  } finally {
    await c.close()
  }
}

export interface Origin extends LiveEdge {
  /** ffmpeg publishing the test media into live/cam1 */
  readonly publisher: { stop(): Promise<void> }
}

/** The origin: an edge (`application live`) with ffmpeg publishing the test media into live/cam1. Stopped in t's teardown. */
export async function startOrigin(t: Test): Promise<Origin> {
  const origin = await startLiveEdge(t)
  const publisher = publish(`rtmp://127.0.0.1:${origin.rtmpPort}/live/cam1`)
  t.teardown(() => publisher.stop())
  await origin.edge.waitForLog("publish: name='cam1'", STAT_WAIT_MS)
  return { ...origin, publisher }
}

/**
 * ffmpeg encoding a test pattern live into `url`: H.264 High level 3.1 640x360 at 25 fps
 * (2 s GOP), AAC LC stereo 48 kHz; values unlike the test media's, so <meta> shows it reads
 * them. Killed by PID in t's teardown.
 */
export function publishEncoded(t: Test, url: string): void {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-profile:v', 'high', '-level:v', '3.1', '-preset', 'superfast', '-tune', 'zerolatency', '-g', '50',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-ar', '48000', '-f', 'flv', url], { stdio: ['ignore', 'ignore', 'ignore'] })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
}

// ---- the stat XML ---------------------------------------------------------------------------

export interface XmlElement {
  readonly name: string
  readonly children: XmlElement[]
  /** the element's own text, unescaped ('' for none) */
  text: string
}

const TOKEN = /<\?[^?]*\?>|<\/([a-z_]+)>|<([a-z_]+)\/>|<([a-z_]+)>|([^<]+)/gy
const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/**
 * The root element of the stat XML. Throws unless the document is what the stat writes: a
 * declaration (and stylesheet) line, then one element of plain tags (no attributes), every tag
 * closed in order.
 */
export function parseStatXml(doc: string): XmlElement {
  const root: XmlElement = { name: '#document', children: [], text: '' }
  const open: XmlElement[] = [root]
  TOKEN.lastIndex = 0
  let pos = 0
  let m: RegExpExecArray | null
  while (pos < doc.length && (m = TOKEN.exec(doc)) !== null) {
    pos = TOKEN.lastIndex
    const top = open[open.length - 1]
    const [, close, empty, start, text] = m
    if (close !== undefined) {
      if (close !== top.name) throw new Error(`</${close}> closes <${top.name}>`)
      open.pop()
    } else if (empty !== undefined || start !== undefined) {
      const e: XmlElement = { name: empty ?? start, children: [], text: '' }
      top.children.push(e)
      if (start !== undefined) open.push(e)
    } else if (text !== undefined) {
      if (/[&<>]/.test(text.replace(/&(amp|lt|gt|quot|apos);/g, ''))) throw new Error(`bad text ${JSON.stringify(text)}`)
      if (top !== root) top.text += text.replace(/&([a-z]+);/g, (_, n: string) => ENTITIES[n])
      else if (text.trim() !== '') throw new Error(`text outside the root element: ${JSON.stringify(text)}`)
    }
  }
  if (pos !== doc.length) throw new Error(`not the stat's XML at ${pos}: ${JSON.stringify(doc.slice(pos, pos + 40))}`)
  if (open.length !== 1) throw new Error(`<${open[open.length - 1].name}> not closed`)
  if (root.children.length !== 1) throw new Error(`${root.children.length} root elements`)
  return root.children[0]
}

/** The children of `e` called `name`. */
export function all(e: XmlElement, name: string): XmlElement[] {
  return e.children.filter((c) => c.name === name)
}

/** The only child of `e` called `name`; throws when there is none or more than one. */
export function one(e: XmlElement, name: string): XmlElement {
  const found = all(e, name)
  if (found.length !== 1) throw new Error(`<${e.name}> has ${found.length} <${name}>`)
  return found[0]
}

/** The text of `e`'s only child `name`. */
export function textOf(e: XmlElement, name: string): string {
  return one(e, name).text
}

/** Whether `e` has a child `name` (an empty flag element: <publishing/>, <active/>). */
export function has(e: XmlElement, name: string): boolean {
  return all(e, name).length > 0
}

/** Every element of the document called `name`, at any depth. */
export function descendants(e: XmlElement, name: string): XmlElement[] {
  return e.children.flatMap((c) => [...(c.name === name ? [c] : []), ...descendants(c, name)])
}

/** The streams of `<server><serverid>srv` → `<live>`. */
export function streamsOf(rtmp: XmlElement, srv = 'edge'): XmlElement[] {
  const server = all(rtmp, 'server').find((s) => textOf(s, 'serverid') === srv)
  if (server === undefined) throw new Error(`no <server> with <serverid>${srv}</serverid>`)
  return all(one(server, 'live'), 'stream')
}

/** The stream named `name` of serverid `srv`. */
export function streamNamed(rtmp: XmlElement, name: string, srv = 'edge'): XmlElement {
  const s = streamsOf(rtmp, srv).find((x) => textOf(x, 'name') === name)
  if (s === undefined) throw new Error(`no <stream> named ${name}`)
  return s
}

/** A client as the test compares it: its fields, flags as booleans, flashver null when absent. */
export interface ClientView {
  readonly id: number
  readonly address: string
  readonly remote: string
  readonly flashver: string | null
  readonly publishing: boolean
  readonly active: boolean
}

export function clientView(c: XmlElement): ClientView {
  return {
    id: Number(textOf(c, 'id')),
    address: textOf(c, 'address'),
    remote: textOf(c, 'remote_address'),
    flashver: has(c, 'flashver') ? textOf(c, 'flashver') : null,
    publishing: has(c, 'publishing'),
    active: has(c, 'active'),
  }
}

/** The clients of a stream element, in document order. */
export function clientsOf(stream: XmlElement): ClientView[] {
  return all(stream, 'client').map(clientView)
}

/**
 * The document's lines (CRLF-separated) with every text between tags taken out: the layout the
 * observed documents are compared on, values aside. Throws on a bare LF.
 */
export function skeleton(doc: string): string[] {
  if (/(^|[^\r])\n/.test(doc)) throw new Error('a line ends without CR')
  return doc.split('\r\n').map((l) => l.replace(/>[^<]+</g, '><'))
}

/** how often statWhen() asks */
const STAT_POLL_MS = 100

/**
 * The stat document (parsed) once `pred` holds for it, asked every 100 ms: who has joined a
 * stream is announced by nothing else a test can wait on. Rejects after `timeoutMs` with the
 * last document.
 */
export async function statWhen(node: StatEdge, pred: (rtmp: XmlElement) => boolean, timeoutMs = STAT_WAIT_MS): Promise<XmlElement> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const doc = await node.stat()
    const rtmp = parseStatXml(doc)
    if (pred(rtmp)) return rtmp
    if (Date.now() >= deadline) throw new Error(`the stat did not show what was waited for within ${timeoutMs} ms:\n${doc}`)
    await new Promise((resolve) => setTimeout(resolve, STAT_POLL_MS))
  }
}

/** A predicate: stream `name` lists `n` clients. */
export function listsClients(name: string, n: number): (rtmp: XmlElement) => boolean {
  return (rtmp) => streamsOf(rtmp).some((s) => textOf(s, 'name') === name && all(s, 'client').length === n)
}

/**
 * Observed §15's node: `live` pulls from an origin (another edge with ffmpeg publishing), `push`
 * pushes to a target (another edge); an HTTP-FLV player starts the pull, then an RTMP player joins.
 */
export async function section15Node(t: Test): Promise<{ origin: Origin, target: LiveEdge, node: StatEdge, h: RawHttpClient, r: PlayerR }> {
  const origin = await startOrigin(t)
  const target = await startLiveEdge(t)
  const node = await startStatEdge(t, {
    live: `pull rtmp://127.0.0.1:${origin.rtmpPort} app=live;`,
    push: `push rtmp://127.0.0.1:${target.rtmpPort} app=live;`,
  })
  const h = await playerH(t, node.httpPort, { target: '/flv/cam1?app=live' })
  await h.until(() => h.tags.some((tag) => tag.typeId === MSG_VIDEO), STAT_WAIT_MS, 'video at the HTTP-FLV player')
  const r = await playerR(t, node.rtmpPort, { name: 'cam1' })
  await r.client.until(() => mediaCount(r.client) > 0, STAT_WAIT_MS, 'media at the RTMP player')
  return { origin, target, node, h, r }
}
