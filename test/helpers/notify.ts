// Pieces shared by the notification tests (issue 10; pingos-behaviour.md §4, §13 scenarios
// 26–29 and 36; pingos-observed.md §12, §13): an edge with one application per case, a notify
// server whose answer a test picks per request (`case=<status|hang>` in the query), the exact
// request lines edge must send, the connection number edge gave a client (read from its log,
// where every session line starts with `*<n>`), and an AMF-level publisher that sends the test
// media's metadata and sequence headers one at a time.
import type { Test } from 'tap'
import { encodeAmf0 } from '../../lib/amf/amf0.js'
import { CSID_AUDIO, CSID_VIDEO, MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { freePort, startEdge, type EdgeProcess } from './node.js'
import { RecordingHttpServer, reply, testMediaTags, type FakeRtmpOrigin, type HttpAnswer, type RecordedRequest } from './origins.js'
import { actOf, requestWhere } from './pull-scenarios.js'
import { RtmpTestClient } from './rtmp-client.js'

/** The onStatus a refused RTMP player or publisher gets before the close (contract of issue 10). */
export const PLAY_FORBIDDEN = { level: 'status', code: 'NetStream.Play.Forbidden', description: 'Play stream Forbidden' } as const
export const PLAY_START = { level: 'status', code: 'NetStream.Play.Start', description: 'Start live' } as const
export const PUBLISH_START = { level: 'status', code: 'NetStream.Publish.Start', description: 'Start publishing' } as const

/** the chunk stream the test publisher writes its metadata on (as ffmpeg does) */
const CSID_DATA = 4

const RFC1123_DATE = /^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

/** A recording notify server answering with `answer`, stopped in t's teardown. */
export async function notifyServer(t: Test, answer: HttpAnswer): Promise<RecordingHttpServer> {
  const s = await RecordingHttpServer.start(answer)
  t.teardown(() => s.stop())
  return s
}

/**
 * Answer by the `case=` value in the request line: a status code → that status with an empty
 * body; `hang` → never answer; no `case=` → 200. Updates and done carry the same query, so
 * they get the same answer.
 */
export const byCase: HttpAnswer = (req) => {
  const c = /[?&]case=([a-z0-9]+)/.exec(req.line)?.[1]
  if (c === 'hang') return
  reply(c === undefined ? 200 : Number(c))(req)
}

/** Answer by the request path (`/play`, `/pull`...); other paths get `fallback`. */
export function byPath(answers: Readonly<Record<string, HttpAnswer>>, fallback: HttpAnswer = reply(200)): HttpAnswer {
  return (req) => (answers[pathOf(req)] ?? fallback)(req)
}

/** The path of a request line (`/play` of `GET /play?call=... HTTP/1.1`). */
export function pathOf(r: RecordedRequest): string {
  return /^GET ([^? ]*)/.exec(r.line)?.[1] ?? ''
}

/** `call=` of a notify request line. */
export function callOf(r: RecordedRequest): string {
  return /[?&]call=([a-z_]+)/.exec(r.line)?.[1] ?? ''
}

/** `name=` of a notify request line (the first one: edge's own field comes before the args). */
export function nameOf(r: RecordedRequest): string {
  return /[?&]name=([^& ]*)/.exec(r.line)?.[1] ?? ''
}

/** `clientid=` of a notify request line. */
export function clientIdOf(r: RecordedRequest): string {
  return /[?&]clientid=([^& ]*)/.exec(r.line)?.[1] ?? ''
}

/** A predicate for requests of one call, act and stream name. */
export function where(call: string, act: string, name?: string): (r: RecordedRequest) => boolean {
  return (r) => callOf(r) === call && actOf(r) === act && (name === undefined || nameOf(r) === name)
}

/** (call, act) of every request matching `pred`, as "call act" strings in arrival order. */
export function sequence(server: RecordingHttpServer, pred: (r: RecordedRequest) => boolean = () => true): string[] {
  return server.requests.filter(pred).map((r) => `${callOf(r)} ${actOf(r)}`)
}

/** The same request line with another `act=` (update and done repeat the start byte for byte). */
export function withAct(line: string, act: 'start' | 'update' | 'done'): string {
  return line.replace(/([?&])act=[a-z]+&/, `$1act=${act}&`)
}

export interface NotifySubject {
  readonly domain: string
  readonly app: string
  readonly name: string
  readonly clientId: number | string
}

/**
 * The request line of an application notification (§4.2):
 * `GET <path>?call=<call>&act=<act>&domain=…&app=…&name=…&clientid=…[&<args>] HTTP/1.1`.
 */
export function notifyLine(path: string, call: string, act: string, s: NotifySubject, args = ''): string {
  return `GET ${path}?call=${call}&act=${act}&domain=${s.domain}&app=${s.app}&name=${s.name}&clientid=${s.clientId}${args === '' ? '' : `&${args}`} HTTP/1.1`
}

/** The notify request head (observed §12): Host without port, User-Agent, Accept, Date; nothing else. */
export function checkNotifyHead(t: Test, headers: readonly string[], who: string): void {
  t.same(headers.slice(0, 3), ['Host: 127.0.0.1', 'User-Agent: nginx/1.17.5', 'Accept: */*'], `${who}: Host without port, User-Agent, Accept, in order`)
  t.match(headers[3] ?? '', RFC1123_DATE, `${who}: an RFC 1123 Date header`)
  t.equal(headers.length, 4, `${who}: no other header (no Connection)`)
}

/**
 * True when no request matching `pred` beyond the `already` ones present now arrives within
 * `ms`: the bounded wait of a test that asserts something does not happen.
 */
export async function absent(server: RecordingHttpServer, pred: (r: RecordedRequest) => boolean, ms: number): Promise<boolean> {
  const already = server.requests.filter(pred).length
  return requestWhere(server, pred, already, ms).then(() => false, (err: Error) => {
    if (/^no request #/.test(err.message)) return true
    throw err
  })
}

/** The connection number edge gave the client on local port `port` (`*<n>` of its log lines). */
export async function clientIdFromLog(edge: EdgeProcess, port: number, timeoutMs = 5000): Promise<number> {
  const re = new RegExp(`\\*(\\d+) [^\\n]*client: 127\\.0\\.0\\.1:${port}(?:,|\\n)`)
  await edge.waitForLog(re, timeoutMs)
  return Number((re.exec(edge.log()) as RegExpExecArray)[1])
}

export interface NotifyEdge {
  readonly edge: EdgeProcess
  readonly rtmpPort: number
  readonly httpPort: number
}

export interface NotifyEdgeOptions {
  /** lines at rtmp{} level (on_proc, on_master) */
  readonly rtmp?: string
  /** lines in the rtmp server{} before the applications */
  readonly server?: string
  /** application name → its lines after `live on;` */
  readonly apps: Readonly<Record<string, string>>
}

/**
 * An edge on free ports of 127.0.0.1: one rtmp server (`serverid edge; timeout 5s;`) with the
 * given applications, and HTTP-FLV at /flv (`/flv/<name>?app=<app>`). Stopped in t's teardown.
 */
export async function startNotifyEdge(t: Test, opts: NotifyEdgeOptions): Promise<NotifyEdge> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const apps = Object.entries(opts.apps)
    .map(([name, body]) => `        application ${name} {\n            live on;\n            ${body}\n        }`)
  const edge = await startEdge(`events {}
rtmp {
    ${opts.rtmp ?? ''}
    server {
        listen 127.0.0.1:${rtmpPort};
        serverid edge;
        timeout 5s;
        ${opts.server ?? ''}
${apps.join('\n')}
    }
}
http {
    server {
        listen 127.0.0.1:${httpPort};
        location /flv { flv_live 127.0.0.1:${rtmpPort}; }
    }
}
`)
  t.teardown(() => edge.stop())
  return { edge, rtmpPort, httpPort }
}

/**
 * An RtmpTestClient connected to `app` with tcUrl `rtmp://127.0.0.1:<port>/<app>` (or
 * `tcUrl`) and flashVer "LNX 9,0,124,2". Closed in t's teardown.
 */
export async function rtmpClient(t: Test, port: number, app: string, tcUrl?: string): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.open(port)
  t.teardown(() => c.close())
  const answer = await c.connectApp(app, { tcUrl: tcUrl ?? `rtmp://127.0.0.1:${port}/${app}` })
  if (answer.values?.[0] !== '_result') throw new Error(`connect to ${app} answered ${String(answer.values?.[0])}`)
  return c
}

/** Resolves with Date.now() once the client's connection has closed; rejects after `timeoutMs`. */
export async function closedAt(c: RtmpTestClient, timeoutMs: number): Promise<number> {
  await c.until(() => c.closed, timeoutMs, 'the edge to close the connection')
  return Date.now()
}

/** Whether `origin` was asked to play stream `name` (with any query): a pull for it started. */
export function originPlayed(origin: FakeRtmpOrigin, name: string): boolean {
  return origin.connections.some((c) => c.commands.some((cmd) => cmd.name === 'play' && String(cmd.args[0]).split('?')[0] === name))
}

/** Start `p` and keep its rejection for a later await (no unhandled rejection meanwhile). */
export function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}

/** The test media's tags: [0] onMetaData, [1] AVC sequence header, [2] AAC sequence header, then frames. */
function mediaTag(kind: 'metadata' | 'video-header' | 'audio-header'): Buffer {
  const tags = testMediaTags()
  const found = tags.find((tag) => (kind === 'metadata' ? tag.typeId === MSG_DATA_AMF0
    : kind === 'video-header' ? tag.typeId === MSG_VIDEO && tag.payload[1] === 0
      : tag.typeId === MSG_AUDIO && tag.payload[1] === 0))
  if (found === undefined) throw new Error(`the test media has no ${kind}`)
  return found.payload
}

/** `@setDataFrame onMetaData {…}` of the test media (320x240, 25 fps, H.264 + AAC), as a publisher sends it. */
export function sendMetadata(c: RtmpTestClient): void {
  c.send(CSID_DATA, MSG_DATA_AMF0, 1, 0, Buffer.concat([encodeAmf0('@setDataFrame'), mediaTag('metadata')]))
}

/** The AVC sequence header of the test media. */
export function sendVideoHeader(c: RtmpTestClient, timestamp = 0): void {
  c.send(CSID_VIDEO, MSG_VIDEO, 1, timestamp, mediaTag('video-header'))
}

/** The AAC sequence header of the test media. */
export function sendAudioHeader(c: RtmpTestClient, timestamp = 0): void {
  c.send(CSID_AUDIO, MSG_AUDIO, 1, timestamp, mediaTag('audio-header'))
}

// Timing of the answer-matrix tests (test/notify/answers*.test.ts): every notify line there has
// `timeout=1s update=1s`.
/** `timeout=1s` on every notify line */
export const TIMEOUT_MS = 1000
/** `update=1s` on every notify line */
export const UPDATE_MS = 1000
/**
 * how early a timer may appear to fire: a request's arrival is stamped by this (busy) test
 * process, so it can be stamped later than edge sent it
 */
export const EARLY_MS = 200
/** how late past its time an event may come on a loaded 2-core machine */
export const LATE_MS = 600
/** "right after": a refusal after its answer, a done after the client left */
export const PROMPT_MS = 500
/** how long a session is watched for an (unwanted) act=update: past one period */
export const NO_UPDATE_WATCH_MS = UPDATE_MS + LATE_MS

/** The answers of the matrix: statuses, and `hang` (no answer within timeout=). */
export const ANSWERS = ['200', '300', '302', '403', '404', '500', 'hang'] as const
export type Answer = typeof ANSWERS[number]

/** One cell of the answer matrix. */
export interface AnswerCase {
  readonly answer: Answer
  readonly ignore: boolean
  /** the application: the notification's app, or its `…ign` twin with ignore_invalid_notify on */
  readonly app: string
  /** the stream name, unique per case */
  readonly name: string
  /** a start answered so is allowed (§4.3): 200..300, or none with ignore_invalid_notify */
  readonly accepted: boolean
}

/** Every answer, without and with ignore_invalid_notify, on `app` / `<app>ign`. */
export function answerCases(app: string, prefix: string): AnswerCase[] {
  const out: AnswerCase[] = []
  for (const ignore of [false, true]) {
    for (const answer of ANSWERS) {
      const accepted = answer === '200' || answer === '300' || (answer === 'hang' && ignore)
      out.push({ answer, ignore, app: ignore ? `${app}ign` : app, name: `${prefix}-${answer}${ignore ? '-ign' : ''}`, accepted })
    }
  }
  return out
}

/** "403, ignore_invalid_notify on → <verdict>" */
export function answerTitle(c: AnswerCase, verdict: string): string {
  return `${c.answer === 'hang' ? 'no answer (timeout=1s)' : c.answer}${c.ignore ? ', ignore_invalid_notify on' : ''} → ${verdict}`
}

/** A notify line of the matrix: every stage, `update=1s timeout=1s args=$pargs`. */
export function matrixLine(directive: string, port: number, path: string): string {
  return `${directive} http://127.0.0.1:${port}${path} stage=start,update,done update=1s timeout=1s args=$pargs;`
}
