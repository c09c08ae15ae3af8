// Recording files (issue 11 item 3, contract item 9; pingos-observed.md §16) from a real ffmpeg
// publishing the test media (2 s GOP) in real time into a real edge process; ffprobe reads
// every file: names and their moments of opening and closing, record_interval at keyframes,
// record_max_size, record_append across a publisher that reconnects (item 4), and a file that
// is complete when edge is stopped with TERM mid-publish.
import { existsSync, mkdirSync } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { strftime } from '../../lib/record/path.js'
import type { EdgeProcess } from '../helpers/node.js'
import {
  descriptorsOf, exitWithin, filesIn, GOP_MS, packetsOf, probeFile, publishFor, PUBLISH_SLACK_MS, sizeOf, startRecordEdge, type Packet,
} from '../helpers/record.js'

/** how long a recorder's close may take to be logged after its publisher left */
const CLOSE_WAIT_MS = 5000
const MAX_SIZE_BYTES = 100 * 1024
/** a recording passes record_max_size by the frame that crossed it, at most */
const FRAME_SLACK_BYTES = 64 * 1024

function checkDecoded(t: Test, probe: Awaited<ReturnType<typeof probeFile>>, what: string): void {
  t.equal(probe.streams.video?.codec, 'h264', `${what}: h264`)
  t.equal(probe.streams.audio?.codec, 'aac', `${what}: aac`)
  t.ok((probe.streams.video?.frames ?? 0) > 0 && (probe.streams.audio?.frames ?? 0) > 0, `${what}: both decoded`)
  t.equal(probe.errors, '', `${what}: no decoding error`)
}

function startsAtKeyframe(packets: readonly Packet[]): boolean {
  return packets.find((p) => p.type === 'video')?.key === true
}

t.test('record, recorders with record_interval and record_max_size (observed §16)', async (t) => {
  const node = await startRecordEdge(t, {
    rec: `record all; record_path @/rec; record_unique on; record_suffix -%Y%m%d-%H%M%S.flv;
            recorder r1 { record all; record_interval 3s; record_path @/rec1; record_suffix _r1.flv; }
            recorder r2 { record all; record_max_size 100K; record_path @/rec2; }`,
  })
  for (const d of ['rec', 'rec1', 'rec2']) mkdirSync(join(node.dir, d))
  const startS = Math.floor(Date.now() / 1000)
  const ffmpeg = publishFor(t, node.url('rec', 's1'), 7)
  t.equal(await exitWithin(ffmpeg, 7000 + PUBLISH_SLACK_MS), 0, 'ffmpeg published 7 s')
  const endS = Math.ceil(Date.now() / 1000)
  await node.edge.waitForLog(/close: client disconnected/, CLOSE_WAIT_MS)
  for (const d of ['rec', 'rec1', 'rec2']) await allClosed(node.edge, join(node.dir, d))

  // the application's own: one file for the whole publish, named at its opening
  const own = filesIn(join(node.dir, 'rec'))
  t.equal(own.length, 1, 'one file')
  const m = /^s1-(\d+)(-\d{8}-\d{6})\.flv$/.exec(own[0] ?? '')
  t.ok(m, `<name>-<unix seconds><strftime suffix>: ${own[0]}`)
  if (m !== null) {
    const secs = Number(m[1])
    t.ok(secs >= startS && secs <= endS, 'the unix seconds of its opening')
    t.equal(m[2], strftime('-%Y%m%d-%H%M%S', new Date(secs * 1000)), 'the suffix through strftime, local time, the same moment')
  }
  const whole = join(node.dir, 'rec', own[0])
  const probe = await probeFile(whole)
  checkDecoded(t, probe, own[0])
  t.ok(Math.abs(probe.durationS * 1000 - 7000) <= GOP_MS, `the published duration within a GOP (${probe.durationS} s)`)
  t.ok(startsAtKeyframe(await packetsOf(whole)), 'starts at a keyframe')

  // r1: closed at the first keyframe 3 s or more after opening, the next opened at once
  const r1 = filesIn(join(node.dir, 'rec1'))
  t.ok(r1.length >= 2, `rotated: ${r1.join(' ')}`)
  let total = 0
  for (const [i, f] of r1.entries()) {
    t.match(f, /^s1-\d+_r1\.flv$/, 'record_unique inherited, its own suffix')
    const p = await probeFile(join(node.dir, 'rec1', f))
    checkDecoded(t, p, f)
    t.ok(startsAtKeyframe(await packetsOf(join(node.dir, 'rec1', f))), `${f} starts at a keyframe`)
    if (i < r1.length - 1) t.ok(p.durationS >= 2.9 && p.durationS <= 3 + GOP_MS / 1000 + 0.2, `${f}: 3 s up to the next keyframe (${p.durationS} s)`)
    total += p.durationS
  }
  t.ok(Math.abs(total * 1000 - 7000) <= GOP_MS, `no gap between the files (${total} s in all)`)

  // r2: closed at the first write past 100K, the next opened at the next keyframe
  const r2 = filesIn(join(node.dir, 'rec2'))
  t.ok(r2.length >= 2, `split by size: ${r2.join(' ')}`)
  for (const [i, f] of r2.entries()) {
    const path = join(node.dir, 'rec2', f)
    t.match(f, /^s1-\d+-\d{8}-\d{6}\.flv$/, 'record_unique and record_suffix inherited from the application')
    const size = sizeOf(path)
    if (i < r2.length - 1) t.ok(size >= MAX_SIZE_BYTES && size < MAX_SIZE_BYTES + FRAME_SLACK_BYTES, `${f}: ${size} bytes, just past 100K`)
    else t.ok(size < MAX_SIZE_BYTES + FRAME_SLACK_BYTES, `${f}: ${size} bytes`)
    checkDecoded(t, await probeFile(path), f)
    t.ok(startsAtKeyframe(await packetsOf(path)), `${f} starts at a keyframe`)
  }
})

t.test('record_append: a publisher that reconnects continues the file, timestamps never go back', async (t) => {
  const node = await startRecordEdge(t, { app: 'record all; record_append on; record_path @;' })
  const path = join(node.dir, 'a1.flv')
  const pid = node.edge.child.pid as number
  const before = descriptorsOf(pid)
  for (let i = 1; i <= 2; i++) {
    const ffmpeg = publishFor(t, node.url('app', 'a1'), 4)
    t.equal(await exitWithin(ffmpeg, 4000 + PUBLISH_SLACK_MS), 0, `publish #${i}: 4 s`)
    await node.edge.waitForLog(new RegExp(`(record:  closed '${path}'[^]*){${i}}`), CLOSE_WAIT_MS)
  }
  t.equal(descriptorsOf(pid), before, 'no descriptor left in edge')
  const packets = await packetsOf(path)
  for (const type of ['audio', 'video'] as const) {
    const dts = packets.filter((p) => p.type === type).map((p) => p.dtsMs)
    const back = dts.findIndex((v, i) => i > 0 && v < dts[i - 1])
    t.equal(back, -1, `${type}: dts monotonic over ${dts.length} packets${back === -1 ? '' : ` (${dts[back - 1]} → ${dts[back]})`}`)
  }
  const probe = await probeFile(path)
  checkDecoded(t, probe, 'a1.flv')
  t.ok(Math.abs(probe.durationS * 1000 - 8000) <= 2 * GOP_MS, `both publishes, one after the other (${probe.durationS} s)`)
})

t.test('edge stopped with TERM mid-publish: the file is complete', async (t) => {
  const node = await startRecordEdge(t, { live: 'record all; record_path @;' })
  const path = join(node.dir, 't1.flv')
  publishFor(t, node.url('live', 't1'), null)
  await node.edge.waitForLog(`record:  opened '${path}'`, 10_000)
  // a few seconds of media written
  await waitForSize(path, 250_000, 15_000)
  const exited = once(node.edge.child, 'exit')
  node.edge.child.kill('SIGTERM')
  await exited
  t.match(node.edge.log(), `record:  closed '${path}'`, 'closed before the process ended')
  const probe = await probeFile(path)
  checkDecoded(t, probe, 't1.flv')
  t.ok(probe.durationS >= 2, `${probe.durationS} s readable`)
  t.ok(existsSync(path))
})

/** Resolves once every file edge opened in `dir` is logged closed (no more open: the publisher left). */
async function allClosed(edge: EdgeProcess, dir: string): Promise<void> {
  const opened = edge.log().split(`opened '${dir}/`).length - 1
  await edge.waitForLog(new RegExp(`(closed '${dir}/[^]*){${opened}}`), CLOSE_WAIT_MS)
}

/** Resolves once the file at `path` holds `bytes`, checked on each change of its directory; rejects after `ms`. */
async function waitForSize(path: string, bytes: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  const { watch } = await import('node:fs')
  const watcher = watch(path)
  try {
    while (!(existsSync(path) && sizeOf(path) >= bytes)) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${path} did not reach ${bytes} bytes within ${ms} ms`)
      await Promise.race([once(watcher, 'change'), new Promise((resolve) => setTimeout(resolve, Math.min(left, 500)))])
    }
  } finally {
    watcher.close()
  }
}
