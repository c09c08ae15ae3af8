// Issue 11 recording faults ("Done when": a recorder path that is unwritable or fills; contract
// item 9; pingos-observed.md §16): one edge with an application per case, an AMF-level
// publisher streaming the test media (2 s GOP) and a local RTMP player of the same stream.
//   - unwritable: `record_path` is a regular file → one `[crit] record:  failed to open file
//     '<path>/s1.flv' (20: Not a directory)` line; the publisher publishes and the player plays
//     as if nothing happened; nothing is written;
//   - fills: `record_max_size 100K` → the file is closed at the first write past 100K and the
//     next one opened at the next keyframe; every file plays (h264 + aac);
//   - TERM: a file being written when edge is stopped is closed and plays for what was published.
// Every case ends with the publisher and player gone and the edge back to its descriptors.
import { writeFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ffmpegMissing, fileDurationS, fileStreams } from '../helpers/cluster.js'
import { startNotifyEdge, type NotifyEdge } from '../helpers/notify.js'
import { H264_AAC, mediaCount } from '../helpers/pull-scenarios.js'
import { baseline, expectUndisturbed, localPlayer, pacedPublisher } from '../helpers/push-scenarios.js'
import { recordDir, recordedFiles, RECORDING_MISSING } from '../helpers/recorded-files.js'
import { expectBaseline, pollUntil } from '../helpers/witness.js'

/** record_max_size of the `fills` case */
const MAX_BYTES = 100 * 1024
/** a file closed "at the first write past" the limit is over it by at most one frame; a keyframe here is < 64 KiB */
const OVER_BY_MAX_BYTES = 64 * 1024
/** files to wait for in the `fills` case: two closed ones and the one being written */
const ROTATED_FILES = 3
/** bound on the rotations (100K of a ~45 KB/s stream, then up to a 2 s GOP each) */
const ROTATE_WAIT_MS = 20_000
/** how long the TERM case publishes before the stop */
const TERM_PUBLISH_MS = 6000
/** the recorded duration may miss up to a GOP at either end */
const DURATION_TOLERANCE_S = 2.5
/** bound on media reaching the local player */
const WAIT_MS = 10_000

/** the cases need recording, and ffprobe to read what was recorded */
const SKIP = RECORDING_MISSING || ffmpegMissing()

let node: NotifyEdge
/** the [crit] line of the unwritable case (compat.md: `[crit] record: <name> failed to open file '<path>' (<errno>: <message>)`) */
let unwritableLine: RegExp
let unwritable: string
let fills: string

t.before(async () => {
  if (SKIP !== false) return
  const base = recordDir(t)
  unwritable = join(base, 'afile')
  writeFileSync(unwritable, '')
  unwritableLine = new RegExp(`\\[crit\\] [^\\n]*record: [^\\n]*failed to open file '${unwritable}/s1\\.flv' \\(20: Not a directory\\)`)
  fills = recordDir(t)
  node = await startNotifyEdge(t, {
    apps: {
      unwritable: `record all;\n            record_path ${unwritable};`,
      fills: `record all;\n            record_path ${fills};\n            record_unique on;\n            record_suffix .flv;\n            record_max_size 100K;`,
    },
  })
})

t.test('record_path is a regular file: one [crit] line, publishing and playing unaffected, nothing written', { skip: SKIP }, async (t) => {
  const base = baseline(node.edge)
  const pub = await pacedPublisher(t, node.rtmpPort, 'unwritable', 's1')
  t.equal(pub.firstStatus.code, 'NetStream.Publish.Start', 'the publisher gets Publish.Start')
  const player = await localPlayer(t, node.rtmpPort, 'unwritable', 's1')
  await player.until(() => mediaCount(player) > 0, WAIT_MS, 'media at the local player')
  const line = unwritableLine
  await node.edge.waitForLog(line, WAIT_MS)
  await expectUndisturbed(t, node.edge, pub.client, player, mediaCount(player), WAIT_MS, line)
  t.equal(node.edge.log().split('\n').filter((l) => line.test(l)).length, 1, 'exactly one [crit] line: failed to open file … (20: Not a directory)')
  t.equal(statSync(unwritable).size, 0, 'nothing was written')
  await player.close()
  await pub.client.close()
  await expectBaseline(t, node.edge, base.base, base.fds)
})

t.test('record_max_size 100K: a file per 100K, each closed past the limit, each playable', { skip: SKIP, timeout: 60_000 }, async (t) => {
  const base = baseline(node.edge)
  const pub = await pacedPublisher(t, node.rtmpPort, 'fills', 's1')
  const player = await localPlayer(t, node.rtmpPort, 'fills', 's1')
  await player.until(() => mediaCount(player) > 0, WAIT_MS, 'media at the local player')
  const from = mediaCount(player)
  const rotated = await pollUntil(() => recordedFiles(fills, 's1-').length >= ROTATED_FILES, ROTATE_WAIT_MS)
  const files = recordedFiles(fills, 's1-')
  t.ok(rotated, `${files.length} files within ${ROTATE_WAIT_MS} ms: ${files.map((f) => `${f.name} (${f.bytes})`).join(', ')}`)
  t.ok(files.every((f) => /^s1-\d{10}\.flv$/.test(f.name)), 'named <name>-<unix seconds>.flv (record_unique on, record_suffix .flv)')
  for (const f of files.slice(0, -1)) {
    t.ok(f.bytes >= MAX_BYTES && f.bytes <= MAX_BYTES + OVER_BY_MAX_BYTES, `${f.name}: ${f.bytes} bytes, closed at the first write past ${MAX_BYTES}`)
    t.same(await fileStreams(f.path), H264_AAC, `${f.name}: ffprobe reads h264 + aac`)
  }
  await expectUndisturbed(t, node.edge, pub.client, player, from, WAIT_MS, unwritableLine)
  await player.close()
  await pub.client.close()
  await expectBaseline(t, node.edge, base.base, base.fds)
})

t.test('edge stopped (TERM) while recording: the file is closed and plays for what was published', { skip: SKIP, timeout: 60_000 }, async (t) => {
  const dir = recordDir(t)
  const own = await startNotifyEdge(t, { apps: { rec: `record all;\n            record_path ${dir};` } })
  const pub = await pacedPublisher(t, own.rtmpPort, 'rec', 's1')
  const startedAt = Date.now()
  t.equal(pub.firstStatus.code, 'NetStream.Publish.Start', 'the publisher gets Publish.Start')
  const player = await localPlayer(t, own.rtmpPort, 'rec', 's1')
  // the player's clock: media for TERM_PUBLISH_MS (at ~68 audio/video messages a second)
  await player.until(() => Date.now() - startedAt >= TERM_PUBLISH_MS || player.closed, TERM_PUBLISH_MS + WAIT_MS, 'the publishing time')
  const publishedS = (Date.now() - startedAt) / 1000
  await own.edge.stop()
  const files = recordedFiles(dir)
  t.same(files.map((f) => f.name), ['s1.flv'], 'record all; record_path: s1.flv')
  const file = join(dir, 's1.flv')
  t.same(await fileStreams(file), H264_AAC, 'ffprobe reads h264 + aac from it')
  const duration = await fileDurationS(file)
  t.ok(Math.abs(duration - publishedS) <= DURATION_TOLERANCE_S, `it lasts ${duration} s (published ${publishedS.toFixed(1)} s ± ${DURATION_TOLERANCE_S})`)
})
