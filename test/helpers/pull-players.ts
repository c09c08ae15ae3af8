// Players and configs for the pull scenarios (pingos-behaviour.md §13, scenarios 8–18): base
// config B with the ports picked at run time, "player R" (RTMP, RtmpTestClient) and "player H"
// (HTTP-FLV, RawHttpClient), each closed in the test's teardown, and ffprobe as the player that
// proves a stream decodes.
import type { Test } from 'tap'
import { MSG_USER_CONTROL, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { runProcess } from './edge.js'
import { freePort, startEdge, type EdgeProcess } from './node.js'
import { RawHttpClient } from './raw-http-client.js'
import { RtmpTestClient, type Received } from './rtmp-client.js'

export const FFPROBE = '/usr/bin/ffprobe'
/** bound on one ffprobe run (it probes a live stream, then exits) */
export const FFPROBE_TIMEOUT_MS = 20_000
/** flashVer of player R (§13) and of RtmpTestClient.connectApp */
export const PLAYER_R_FLASHVER = 'LNX 9,0,124,2'

export interface EdgeNode {
  readonly edge: EdgeProcess
  readonly rtmpPort: number
  readonly httpPort: number
}

/**
 * Base config B of §13 with free ports; `appExtra` goes into `application * {}` (e.g. the
 * `pull` line), `serverExtra` into the rtmp `server {}`. Stopped in t's teardown.
 */
export async function startEdgeB(t: Test, appExtra: string, serverExtra = ''): Promise<EdgeNode> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const edge = await startEdge(`
events { worker_connections 1024; }
rtmp {
    server {
        listen ${rtmpPort};
        serverid edge;
        timeout 5s;
        ${serverExtra}
        application * {
            live on;
            cache_time 1s;
            send_all on;
            ${appExtra}
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
`)
  t.teardown(() => edge.stop())
  return { edge, rtmpPort, httpPort }
}

export interface PlayerR {
  readonly client: RtmpTestClient
  /** the connect answer (_result) */
  readonly connected: Received
  /** the first onStatus after play */
  readonly firstStatus: Received
  /** Date.now() just before play was written */
  readonly playSentAt: number
}

/**
 * Player R: connect(app) with tcUrl `rtmp://127.0.0.1:<port>/<app>` (or `tcUrl`), flashVer
 * "LNX 9,0,124,2", then createStream and play(name). Closed in t's teardown.
 */
export async function playerR(t: Test, port: number, opts: { app?: string, name?: string, tcUrl?: string } = {}): Promise<PlayerR> {
  const app = opts.app ?? 'live'
  const client = await RtmpTestClient.open(port)
  t.teardown(() => client.close())
  const connected = await client.connectApp(app, { tcUrl: opts.tcUrl ?? `rtmp://127.0.0.1:${port}/${app}` })
  const playSentAt = Date.now()
  const firstStatus = await client.play(opts.name ?? 'cam1?tok=abc')
  return { client, connected, firstStatus, playSentAt }
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

/** The info object of an onStatus / _error message. */
export function statusInfo(m: Received): Record<string, unknown> {
  return (m.values?.[3] ?? {}) as Record<string, unknown>
}

/** Wait (bounded) for an onStatus whose code is `code`, from message index `from`. */
export function nextStatus(c: RtmpTestClient, code: string, timeoutMs = 5000, from = 0): Promise<Received> {
  return c.next((m) => (m.values?.[0] === 'onStatus' || m.values?.[0] === '_error') && statusInfo(m).code === code, timeoutMs, from)
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
