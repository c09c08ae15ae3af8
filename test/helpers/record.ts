// Pieces of the recording tests (test/record): an edge with record applications, ffmpeg
// publishing the test media for a given time, ffprobe's view of a recorded file (duration,
// decoded streams, packets), and the descriptors a process holds.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { runProcess } from './edge.js'
import { freePort, startEdge, TEST_MEDIA, type EdgeProcess } from './node.js'

/** the test media's keyframe interval: a recording may be one GOP shorter than what was published */
export const GOP_MS = 2000
/** how long a publish of a few seconds may take past its length on a loaded machine */
export const PUBLISH_SLACK_MS = 15_000

export interface RecordEdge {
  readonly edge: EdgeProcess
  readonly rtmpPort: number
  /** a temp dir for the recordings, removed in teardown */
  readonly dir: string
  url(app: string, name: string): string
}

/**
 * An edge on a free port of 127.0.0.1 with the given applications (`live on;` first); `@` in
 * an application's lines is the recordings' temp dir. Stopped in t's teardown.
 */
export async function startRecordEdge(t: Test, apps: Readonly<Record<string, string>>): Promise<RecordEdge> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-record-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const rtmpPort = await freePort()
  const blocks = Object.entries(apps)
    .map(([name, body]) => `        application ${name} {\n            live on;\n            ${body.replaceAll('@', dir)}\n        }`)
  const edge = await startEdge(`events {}
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
${blocks.join('\n')}
    }
}
`)
  t.teardown(() => edge.stop())
  return { edge, rtmpPort, dir, url: (app, name) => `rtmp://127.0.0.1:${rtmpPort}/${app}/${name}` }
}

export interface TimedPublisher {
  readonly child: ChildProcess
  /** resolves with ffmpeg's exit code */
  readonly exited: Promise<number | null>
}

/**
 * ffmpeg publishing the test media into `url` in real time for `seconds` (null: looping until
 * stopped); killed in t's teardown if still running.
 */
export function publishFor(t: Test, url: string, seconds: number | null): TimedPublisher {
  const input = seconds === null ? ['-stream_loop', '-1', '-i', TEST_MEDIA] : ['-i', TEST_MEDIA, '-t', String(seconds)]
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', ...input, '-c', 'copy', '-f', 'flv', url],
    { stdio: ['ignore', 'ignore', 'ignore'] })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, exited }
}

/** Resolves with the exit code, or rejects after `ms`. */
export async function exitWithin(p: TimedPublisher, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`ffmpeg still running after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([p.exited, late])
  } finally {
    clearTimeout(timer)
  }
}

export interface ProbedFile {
  readonly durationS: number
  /** codec_type → codec name and the frames ffprobe decoded */
  readonly streams: Readonly<Record<string, { readonly codec: string, readonly frames: number }>>
  /** what ffprobe said on stderr at -v error */
  readonly errors: string
}

/** ffprobe decoding every frame of a recorded file. */
export async function probeFile(path: string): Promise<ProbedFile> {
  const r = await runProcess('ffprobe', ['-v', 'error', '-count_frames', '-show_entries',
    'format=duration:stream=codec_type,codec_name,nb_read_frames', '-of', 'json', path], { timeoutMs: 30_000 })
  if (r.code !== 0) throw new Error(`ffprobe ${path} exited ${r.code ?? r.signal}: ${r.stderr}`)
  const parsed = JSON.parse(r.stdout) as {
    format: { duration: string }
    streams: { codec_type: string, codec_name: string, nb_read_frames: string }[]
  }
  const streams: Record<string, { codec: string, frames: number }> = {}
  for (const s of parsed.streams) streams[s.codec_type] = { codec: s.codec_name, frames: Number(s.nb_read_frames) }
  return { durationS: Number(parsed.format.duration), streams, errors: r.stderr }
}

export interface Packet {
  readonly type: 'audio' | 'video'
  readonly dtsMs: number
  readonly key: boolean
}

/** ffprobe's packets of a file, in file order. */
export async function packetsOf(path: string): Promise<Packet[]> {
  const r = await runProcess('ffprobe', ['-v', 'error', '-show_entries', 'packet=codec_type,dts_time,flags', '-of', 'json', path],
    { timeoutMs: 30_000 })
  if (r.code !== 0) throw new Error(`ffprobe ${path} exited ${r.code ?? r.signal}: ${r.stderr}`)
  const parsed = JSON.parse(r.stdout) as { packets: { codec_type: 'audio' | 'video', dts_time: string, flags: string }[] }
  return parsed.packets.map((p) => ({ type: p.codec_type, dtsMs: Math.round(Number(p.dts_time) * 1000), key: p.flags.startsWith('K') }))
}

/** The files of `dir`, sorted (names with unix seconds sort by time). */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).sort()
}

export function sizeOf(path: string): number {
  return statSync(path).size
}

/** The number of open descriptors of process `pid`. */
export function descriptorsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}
