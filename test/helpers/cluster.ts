// The seed's cluster (issue 11, "Done when"; the PingOS page's picture): publishers → ingest
// nodes (`push`) → core (`push` to a recorder, `cache_time`) → edge nodes pulling on demand
// (static `pull`, or `on_pull` answered 302 by a business server) → players. Every node is its
// own process on 127.0.0.1 with free ports; these helpers start the pieces and read what
// they observed, for test/interop/cluster.test.ts.
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import type { Test } from 'tap'
import { runProcess } from './edge.js'
import { publish, startLiveEdge, type EdgeProcess, type LiveEdge } from './node.js'
import { nameOf, notifyServer } from './notify.js'
import { reply, type RecordingHttpServer } from './origins.js'
import { actOf, FFPROBE, ffprobeStreams, FFPROBE_TIMEOUT_MS, type ProbedStream } from './pull-scenarios.js'

export const FFMPEG = '/usr/bin/ffmpeg'

/** A tap `skip` value: false when ffmpeg and ffprobe are installed, else the reason. */
export function ffmpegMissing(): string | false {
  const absent = [FFMPEG, FFPROBE].filter((p) => !existsSync(p))
  return absent.length === 0 ? false : `not installed: ${absent.join(', ')}`
}

/**
 * An edge node of the cluster: `application live { live on; <app> }` and HTTP-FLV locations
 * (`/flv` for players: `/flv/<name>?app=live`; `/` for HTTP-FLV pulls: `/<app>/<name>`).
 */
export function clusterEdge(t: Test, app: string, flv: Readonly<Record<string, string>> = { '/flv': '' }): Promise<LiveEdge> {
  return startLiveEdge(t, { app, flv })
}

export interface TimedPublisher {
  readonly url: string
  /** resolves with Date.now() when ffmpeg has exited */
  readonly exited: Promise<number>
  /** Date.now() when ffmpeg was started */
  readonly startedAt: number
}

/**
 * ffmpeg publishing `seconds` of the looped test media (H.264 + AAC, 2 s GOP) in real time
 * (`-re -stream_loop -1 … -t <seconds>`), then ending the stream itself. Killed by PID in
 * teardown if still running.
 */
export function timedPublisher(t: Test, url: string, seconds: number): TimedPublisher {
  const p = publish(url, ['-t', String(seconds)])
  t.teardown(() => p.stop())
  const exited = once(p.child, 'exit').then(() => Date.now())
  return { url, exited, startedAt: Date.now() }
}

/**
 * The business server behind `on_pull`: a start for <app>/<name> is answered
 * `302 Location: <location(app, name)>`, anything else 200. Stopped in t's teardown.
 */
export function pullRedirector(t: Test, location: (name: string) => string): Promise<RecordingHttpServer> {
  return notifyServer(t, (req) => {
    if (actOf(req) === 'start') reply(302, { Location: location(nameOf(req)) })(req)
    else reply(200)(req)
  })
}

/** The number edge gave the session whose log line matches `re` (the `*<n>` of the line). */
export function sessionOf(edge: EdgeProcess, re: RegExp): number | null {
  const line = edge.log().split('\n').find((l) => re.test(l))
  const m = line === undefined ? null : /\*(\d+) /.exec(line)
  return m === null ? null : Number(m[1])
}

/** ffprobe `url`, twice at most (a probe can start before the first keyframe of a pull). */
export async function probe(url: string): Promise<ProbedStream[] | string> {
  let last = ''
  for (let i = 0; i < 2; i++) {
    try {
      return await ffprobeStreams(url)
    } catch (err) {
      last = (err as Error).message
    }
  }
  return last
}

/** ffprobe's container duration of a file, in seconds (NaN if it cannot tell). */
export async function fileDurationS(file: string): Promise<number> {
  const r = await runProcess(FFPROBE, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file],
    { timeoutMs: FFPROBE_TIMEOUT_MS })
  return r.code === 0 ? Number(r.stdout.trim()) : NaN
}

/** ffprobe's stream codecs of a file, sorted by type, or the error text. */
export async function fileStreams(file: string): Promise<ProbedStream[] | string> {
  return ffprobeStreams(file).catch((err: Error) => err.message)
}
