// Pieces shared by the pull scenarios (pingos-behaviour.md §13, scenarios 8–25), the pull
// fault tests and the pull interop tests: base config B with the ports picked at run time,
// "player R" (RTMP, RtmpTestClient) and "player H" (HTTP-FLV, RawHttpClient) as §13 defines
// them, each closed in the test's teardown, ffprobe as the player that proves a stream
// decodes, and bounded waits on recorded requests and on silence.
import { once, type EventEmitter } from 'node:events'
import type { Test } from 'tap'
import { MSG_AUDIO, MSG_USER_CONTROL, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { runProcess } from './edge.js'
import { freePort, startEdge, type EdgeProcess } from './node.js'
import type { RecordedRequest, RecordingHttpServer } from './origins.js'
import { RawHttpClient } from './raw-http.js'
import { RtmpTestClient, type Received } from './rtmp-client.js'

export const FFPROBE = '/usr/bin/ffprobe'
/** bound on one ffprobe run (it probes a live stream, then exits) */
export const FFPROBE_TIMEOUT_MS = 20_000
/** flashVer of player R (§13) and of RtmpTestClient.connectApp */
export const PLAYER_R_FLASHVER = 'LNX 9,0,124,2'

/**
 * Base config B (§13) on the given ports; `app` goes into `application *` after B's three
 * lines (e.g. the `pull` line), `server` into the rtmp `server {}` before it.
 */
export function configB(rtmpPort: number, httpPort: number, app: string, server = ''): string {
  return `events {}
rtmp {
    server {
        listen ${rtmpPort};
        serverid edge;
        timeout 5s;
        ${server}
        application * {
            live on;
            cache_time 1s;
            send_all on;
            ${app}
        }
    }
}
http {
    server {
        listen ${httpPort};
        location /flv      { flv_live ${rtmpPort}; }
        location /rtmp_stat { rtmp_stat all; }
        location /control  { rtmp_control all; }
    }
}
`
}

export interface EdgeB {
  readonly edge: EdgeProcess
  readonly rtmpPort: number
  readonly httpPort: number
}

/** An edge process on configB(`app`, `server`) with free ports. Stopped in t's teardown. */
export async function startEdgeB(t: Test, app: string, server = ''): Promise<EdgeB> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const edge = await startEdge(configB(rtmpPort, httpPort, app, server))
  t.teardown(() => edge.stop())
  return { edge, rtmpPort, httpPort }
}

/** The on_pull line of scenario 19, which scenarios 20–25 keep. */
export function onPullLine(notifyPort: number, path = '/n?k=v'): string {
  return `on_pull http://127.0.0.1:${notifyPort}${path} stage=start,update,done update=2s args=sid=$serverid&sch=$scheme&ip=$remote_addr&$pargs;`
}

export interface PlayerR {
  readonly client: RtmpTestClient
  /** the first onStatus after play */
  readonly firstStatus: Received
  /** Date.now() just before play was written */
  readonly playSentAt: number
}

/**
 * Player R: connect(app, default "live") with tcUrl `rtmp://127.0.0.1:<port>/<app>` (or
 * `tcUrl`) and flashVer "LNX 9,0,124,2", then createStream and play(name, default
 * "cam1?tok=abc"). Rejects unless connect is answered with _result. Closed in t's teardown.
 */
export async function playerR(t: Test, port: number, opts: { app?: string, name?: string, tcUrl?: string } = {}): Promise<PlayerR> {
  const app = opts.app ?? 'live'
  const client = await RtmpTestClient.open(port)
  t.teardown(() => client.close())
  const connected = await client.connectApp(app, { tcUrl: opts.tcUrl ?? `rtmp://127.0.0.1:${port}/${app}` })
  if (connected.values?.[0] !== '_result') throw new Error(`connect to ${app} answered ${String(connected.values?.[0])}`)
  const playSentAt = Date.now()
  const firstStatus = await client.play(opts.name ?? 'cam1?tok=abc')
  return { client, firstStatus, playSentAt }
}

/** Player H: `GET /flv/cam1?app=live&tok=abc` (or `target`) with extra header lines. Closed in t's teardown. */
export async function playerH(t: Test, port: number, opts: { target?: string, headers?: readonly string[] } = {}): Promise<RawHttpClient> {
  const client = await RawHttpClient.request(port, opts.target ?? '/flv/cam1?app=live&tok=abc', { headers: opts.headers ?? [] })
  t.teardown(() => client.close())
  return client
}

/** An AVC keyframe (FLV video: frame type 1, codec 7, AVCPacketType 1 NALU). */
export function isAvcKeyframe(payload: Buffer): boolean {
  return payload.length > 1 && payload[0] === 0x17 && payload[1] === 0x01
}

/** An RTMP message that is an AVC keyframe. */
export function isKeyframeMessage(m: Received): boolean {
  return m.typeId === MSG_VIDEO && isAvcKeyframe(m.payload)
}

/** User Control event `event` (0 StreamBegin, 1 StreamEOF) for message stream `streamId`. */
export function isUserControl(m: Received, event: number, streamId = 1): boolean {
  return m.typeId === MSG_USER_CONTROL && m.payload.length >= 6 && m.payload.readUInt16BE(0) === event &&
    m.payload.readUInt32BE(2) === streamId
}

/** Audio and video messages an RTMP player has received. */
export function mediaCount(c: RtmpTestClient): number {
  let n = 0
  for (const m of c.messages) if (m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO) n++
  return n
}

/** The info object of an onStatus / _error message. */
export function statusInfo(m: Received): Record<string, unknown> {
  return (m.values?.[3] ?? {}) as Record<string, unknown>
}

/** The info objects of every onStatus the client received, in order. */
export function statuses(c: RtmpTestClient): { level?: string, code?: string, description?: string }[] {
  return c.messages
    .filter((m) => m.values?.[0] === 'onStatus')
    .map((m) => statusInfo(m) as { level?: string, code?: string, description?: string })
}

/** Wait (bounded) for an onStatus whose code is `code`, from message index `from`. */
export function nextStatus(c: RtmpTestClient, code: string, timeoutMs = 5000, from = 0): Promise<Received> {
  return c.next((m) => (m.values?.[0] === 'onStatus' || m.values?.[0] === '_error') && statusInfo(m).code === code, timeoutMs, from)
}

/** `act=` of a notify request line. */
export function actOf(r: RecordedRequest): string {
  return /[?&]act=([a-z]+)/.exec(r.line)?.[1] ?? ''
}

/** The n-th (0-based) recorded request matching `pred`, waiting (bounded) for it. */
export async function requestWhere(
  server: RecordingHttpServer,
  pred: (r: RecordedRequest) => boolean,
  n = 0,
  timeoutMs = 5000,
): Promise<RecordedRequest> {
  const signal = AbortSignal.timeout(timeoutMs)
  for (;;) {
    const found = server.requests.filter(pred)
    if (found.length > n) return found[n]
    try {
      await once(server, 'request', { signal })
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err
      throw new Error(`no request #${n} of the wanted kind within ${timeoutMs} ms; got:\n${server.requests.map((r) => r.line).join('\n')}`)
    }
  }
}

/** True when `event` does not fire on `ee` within `ms` (an event wait that is expected to time out). */
export async function quietFor(ee: EventEmitter, event: string, ms: number): Promise<boolean> {
  try {
    await once(ee, event, { signal: AbortSignal.timeout(ms) })
    return false
  } catch (err) {
    if ((err as Error).name === 'AbortError') return true
    throw err
  }
}

export interface ProbedStream {
  readonly codec_type: string
  readonly codec_name: string
}

/** ffprobe `url`: the streams it decoded, or a rejection with its stderr. */
export async function ffprobeStreams(url: string): Promise<ProbedStream[]> {
  const r = await runProcess(FFPROBE, ['-v', 'error', '-rw_timeout', '15000000', '-show_entries', 'stream=codec_type,codec_name',
    '-of', 'json', url], { timeoutMs: FFPROBE_TIMEOUT_MS })
  if (r.code !== 0) throw new Error(`ffprobe ${url} exited ${r.code ?? r.signal}: ${r.stderr}`)
  const parsed = JSON.parse(r.stdout) as { streams?: ProbedStream[] }
  return (parsed.streams ?? []).map((s) => ({ codec_type: s.codec_type, codec_name: s.codec_name }))
    .sort((a, b) => a.codec_type.localeCompare(b.codec_type))
}

/** What ffprobe reports for the test media (and any h264 + aac stream). */
export const H264_AAC: readonly ProbedStream[] = [
  { codec_type: 'audio', codec_name: 'aac' },
  { codec_type: 'video', codec_name: 'h264' },
]
