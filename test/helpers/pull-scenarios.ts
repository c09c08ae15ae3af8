// Pieces shared by the on_pull scenarios (pingos-behaviour.md §13, 19–25) and the pull fault
// tests: base config B with free ports, "player R" and "player H" as §13 defines them, and
// bounded waits on recorded requests and on silence.
import { once, type EventEmitter } from 'node:events'
import type { Test } from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import type { RecordedRequest, RecordingHttpServer } from './origins.js'
import { RawHttpClient } from './raw-http-client.js'
import { RtmpTestClient } from './rtmp-client.js'

/** Base config B (§13) on free ports; `app` is the body of `application *` after B's three lines. */
export function configB(rtmpPort: number, httpPort: number, app: string): string {
  return `events {}
rtmp {
    server {
        listen ${rtmpPort};
        serverid edge;
        timeout 5s;
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
        location /flv { flv_live ${rtmpPort}; }
    }
}
`
}

/** The on_pull line of scenario 19, which scenarios 20–25 keep. */
export function onPullLine(notifyPort: number, path = '/n?k=v'): string {
  return `on_pull http://127.0.0.1:${notifyPort}${path} stage=start,update,done update=2s args=sid=$serverid&sch=$scheme&ip=$remote_addr&$pargs;`
}

/**
 * "Player R": connect to `app` with tcUrl rtmp://127.0.0.1:<port>/<app> and flashVer
 * `LNX 9,0,124,2`, then play `name`. Resolves with the client and its first onStatus code.
 */
export async function playerR(t: Test, rtmpPort: number, name = 'cam1?tok=abc', app = 'live'): Promise<{ client: RtmpTestClient, first: string }> {
  const client = await RtmpTestClient.open(rtmpPort)
  t.teardown(() => client.close())
  const result = await client.connectApp(app, {}, rtmpPort)
  if (result.values?.[0] !== '_result') throw new Error(`connect to ${app} answered ${String(result.values?.[0])}`)
  const first = await client.play(name)
  return { client, first: RtmpTestClient.code(first) }
}

/** "Player H": GET /flv/<name>?app=<app>&tok=abc over a raw socket. */
export async function playerH(t: Test, httpPort: number, target = '/flv/cam1?app=live&tok=abc'): Promise<RawHttpClient> {
  const h = await RawHttpClient.request(httpPort, target)
  t.teardown(() => h.close())
  return h
}

/** Audio and video messages an RTMP player has received. */
export function mediaCount(c: RtmpTestClient): number {
  let n = 0
  for (const m of c.messages) if (m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO) n++
  return n
}

/** The info objects of every onStatus the client received, in order. */
export function statuses(c: RtmpTestClient): { level?: string, code?: string, description?: string }[] {
  return c.messages
    .filter((m) => m.values?.[0] === 'onStatus')
    .map((m) => m.values?.[3] as { level?: string, code?: string, description?: string })
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
