// A paused HTTP-FLV player against a real edge (issue 3, "Done when"): a raw TCP client that
// sends its request and never reads for 30 s must not make the node's memory grow past its
// queue limit, nor slow down a second player that reads normally.
//
// The shipped test media is ~370 kbit/s: in 30 s that is ~1.4 MB, which the kernel's socket
// buffers alone can absorb, so the player's queue would never reach the soft limit. The test
// therefore makes a 10 s ~6 Mbit/s file first (noise keeps x264 from compressing it away) and
// loops it with `-re -stream_loop -1 -c copy`, as test/helpers/node.ts publish() does with the
// shipped file: ~23 MB flow in 30 s, far past the kernel buffers plus the 2 MiB soft limit.
import { spawn } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import t from 'tap'
import { FlvReader } from '../../lib/flv/reader.js'
import { inspectVideo } from '../../lib/media/codec.js'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'
import { runProcess } from '../helpers/edge.js'
import { startLiveEdge } from '../helpers/node.js'
import { until } from '../helpers/unit.js'

const FFMPEG = '/usr/bin/ffmpeg'
const MiB = 1024 * 1024
/** how long the paused player does not read */
const PAUSED_MS = 30_000
/** the reading player's media time must advance at least this much over PAUSED_MS */
const MIN_MEDIA_ADVANCE_MS = 25_000
/** RSS may grow this much over the baseline: the 8 MiB hard queue limit plus kernel and GC slack */
const RSS_SLACK_BYTES = 16 * MiB
/** the node runs this long with one reader before the baseline: its heap grows for ~15 s at this rate */
const WARMUP_MS = 20_000
/** the baseline is the highest RSS of the warm-up's last samples */
const BASELINE_SAMPLES = 5
const SAMPLE_MS = 1000
const READY_TIMEOUT_MS = 15_000
/** after it reads again, the paused player must be back on a live keyframe within this */
const RESUME_TIMEOUT_MS = 15_000
/** "live": within this of the reading player's newest timestamp */
const LIVE_WINDOW_MS = 3000

/** VmRSS of a process in bytes, from /proc/<pid>/status. */
function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}

/** What is kept of a received audio or video tag (not its payload). */
interface Received {
  readonly video: boolean
  /** a video keyframe (not a sequence header) */
  readonly keyframe: boolean
  readonly timestamp: number
}

/** Media tags parsed from an HTTP-FLV body as it arrives; emits `change` after each chunk. */
class TagLog extends EventEmitter {
  private readonly reader = new FlvReader()
  readonly tags: Received[] = []
  bytes = 0
  error: Error | null = null

  push(chunk: Buffer): void {
    this.bytes += chunk.length
    if (this.error !== null) return
    try {
      this.reader.push(chunk)
    } catch (err) {
      this.error = err as Error
      this.emit('change')
      return
    }
    for (const tag of this.reader.drain()) {
      if (tag.typeId !== MSG_AUDIO && tag.typeId !== MSG_VIDEO) continue
      const v = tag.typeId === MSG_VIDEO ? inspectVideo(tag.payload) : null
      this.tags.push({ video: v !== null, keyframe: v !== null && v.keyframe && !v.sequenceHeader, timestamp: tag.timestamp })
    }
    this.emit('change')
  }

  get newestMs(): number {
    return this.tags.length === 0 ? -1 : this.tags[this.tags.length - 1].timestamp
  }
}

t.test('a paused HTTP-FLV player: bounded RSS, the other player stays real-time', {
  timeout: 90_000,
  skip: existsSync(FFMPEG) ? false : 'no /usr/bin/ffmpeg',
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-slow-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const media = join(dir, 'noise-6m.flv')
  const made = await runProcess(FFMPEG, [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '10', '-vf', 'noise=alls=40:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50',
    '-sc_threshold', '0', '-b:v', '6M', '-maxrate', '6M', '-bufsize', '6M', '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-f', 'flv', media,
  ], { timeoutMs: 60_000 })
  t.equal(made.code, 0, `ffmpeg made the test media ${made.stderr}`)

  const { edge, rtmpPort, httpPort } = await startLiveEdge(t, {
    server: 'serverid edge;\n        max_message 6m;', app: 'cache_time 1s;\n            send_all on;', flv: { '/live': '' },
  })
  const pid = edge.child.pid as number
  t.match(readFileSync(`/proc/${pid}/cmdline`, 'latin1'), /edge\.js/, 'RSS is read from the edge process itself')

  // the publisher, as test/helpers/node.ts publish() runs one, with the high-rate file
  const ffmpeg = spawn(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', media,
    '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/cam1`], { stdio: ['ignore', 'ignore', 'ignore'] })
  const ffmpegExit = once(ffmpeg, 'exit')
  t.teardown(async () => {
    if (ffmpeg.exitCode === null && ffmpeg.signalCode === null) {
      ffmpeg.kill('SIGKILL')
      await ffmpegExit
    }
  })
  await edge.waitForLog("publish: name='cam1'", READY_TIMEOUT_MS)

  // the reading player: node:http (chunked transfer decoded for us) into an FlvReader
  const reading = new TagLog()
  const req = httpGet(`http://127.0.0.1:${httpPort}/live/cam1.flv`)
  t.teardown(() => { req.destroy() })
  const [res] = await once(req, 'response', { signal: AbortSignal.timeout(READY_TIMEOUT_MS) }) as [IncomingMessage]
  t.equal(res.statusCode, 200, 'the reading player is answered 200')
  res.on('data', (d: Buffer) => reading.push(d))
  await until(reading, () => reading.tags.length > 0 || reading.error !== null, 'the first tag at the reading player', READY_TIMEOUT_MS)

  const samples: number[] = []
  const sampler = setInterval(() => {
    // a node that died is reported by the log assertions, not by a throw in a timer
    if (edge.child.exitCode === null && edge.child.signalCode === null) samples.push(rssBytes(pid))
  }, SAMPLE_MS)
  t.teardown(() => clearInterval(sampler))
  // baseline: the node with the stream flowing and one reader, GOP cache full, heap grown
  // to its working size (without the warm-up, RSS climbs ~12 MiB over the next 30 s with no
  // paused player at all)
  await delay(WARMUP_MS)
  const baseline = Math.max(...samples.slice(-BASELINE_SAMPLES))
  samples.length = 0

  // the paused player: a raw socket that sends its request and never reads
  const paused = tcpConnect(httpPort, '127.0.0.1')
  t.teardown(() => { paused.destroy() })
  await once(paused, 'connect', { signal: AbortSignal.timeout(READY_TIMEOUT_MS) })
  // HTTP/1.0: no chunked transfer encoding, so the body is plain FLV when we read it later
  paused.write('GET /live/cam1.flv HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')
  paused.pause()
  let pausedClosed = false
  paused.on('close', () => { pausedClosed = true })
  paused.on('error', () => {})
  await edge.waitForLog(/flv play: app='live' name='cam1'[^]*flv play: app='live' name='cam1'/, READY_TIMEOUT_MS)

  const startWall = Date.now()
  const startMedia = reading.newestMs
  await delay(PAUSED_MS)
  const wallMs = Date.now() - startWall
  const mediaAdvanceMs = reading.newestMs - startMedia
  clearInterval(sampler)
  const peak = Math.max(...samples)

  t.equal(reading.error, null, 'the reading player\'s FLV parsed cleanly')
  t.ok(mediaAdvanceMs >= MIN_MEDIA_ADVANCE_MS,
    `the reading player stayed real-time: media time advanced ${mediaAdvanceMs} ms over ${wallMs} ms of wall time`)
  t.ok(samples.length >= PAUSED_MS / SAMPLE_MS - 2, `${samples.length} RSS samples`)
  t.ok(peak < baseline + RSS_SLACK_BYTES,
    `edge RSS peaked at ${(peak / MiB).toFixed(1)} MiB, baseline ${(baseline / MiB).toFixed(1)} MiB (+${((peak - baseline) / MiB).toFixed(1)} MiB, limit +16 MiB)`)

  const slowClosed = /slow player/.test(edge.log())
  if (slowClosed) {
    t.pass('the paused player was disconnected as a slow player')
    return
  }
  t.equal(pausedClosed, false, 'the paused player is still connected (bounded by its queue, not disconnected)')
  t.notMatch(edge.log(), /flv close/, 'no HTTP-FLV player was closed')

  // It reads again: it gets what the kernel and its queue held, then (queue below half the
  // soft limit) the stream resumes at a live keyframe, with every tag whole.
  const resumed = new TagLog()
  let head = Buffer.alloc(0)
  let inBody = false
  paused.on('data', (d: Buffer) => {
    if (inBody) {
      resumed.push(d)
      return
    }
    // copy: the response head may span reads (only until the blank line)
    head = Buffer.concat([head, d])
    const end = head.indexOf('\r\n\r\n')
    if (end === -1) return
    inBody = true
    resumed.push(head.subarray(end + 4))
  })
  paused.resume()
  const isLive = (x: Received): boolean => x.keyframe && x.timestamp >= reading.newestMs - LIVE_WINDOW_MS
  await until(resumed, () => resumed.tags.some(isLive) || resumed.error !== null, 'a live keyframe at the resumed player', RESUME_TIMEOUT_MS)
  t.match(head.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/, 'the paused player had been answered 200')
  t.equal(resumed.error, null, 'the resumed player\'s FLV parsed cleanly: frames were dropped whole')
  const live = resumed.tags.findIndex(isLive)
  const backlogBytes = resumed.bytes
  const gapMs = resumed.tags[live].timestamp - (live > 0 ? resumed.tags[live - 1].timestamp : 0)
  t.ok(gapMs > LIVE_WINDOW_MS, `it skipped ${gapMs} ms of media to the live keyframe`)
  t.comment(`paused player: ${live} tags (${(backlogBytes / MiB).toFixed(1)} MiB received in all by then) before the live keyframe`)
})
