// RTMP chunk-stream cost, each case beside a same-run baseline: (1) ChunkReader.push over 1 MB
// of video messages chunked at 4096 bytes, fed in 64 KB reads as a socket delivers them, against
// a Buffer.copy of the same reads into a preallocated buffer (the reader copies each message
// that spans chunks once, so a plain copy is its floor); (2) encodeChunks of a 64 KB payload at
// chunk size 4096 against a Buffer.copy of 64 KB into a preallocated buffer. Issue 5's goal:
// within 2× of the copy.
import { bench, do_not_optimize, run, summary } from 'mitata'
import { ChunkReader } from '../../lib/rtmp/chunk-reader.js'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'
import { CSID_PROTOCOL, CSID_VIDEO, MSG_SET_CHUNK_SIZE, MSG_VIDEO, STREAM_ID } from '../../lib/rtmp/constants.js'

const KiB = 1024
const MiB = 1024 * KiB
const CHUNK_SIZE = 4096
const READ_BYTES = 64 * KiB
const STREAM_BYTES = 1 * MiB
const FRAME_MS = 40
const GOP_FRAMES = 25

function payload(bytes: number, first: number): Buffer {
  const out = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) out[i] = i & 0x7f
  out[0] = first
  out[1] = 1
  return out
}

/** Set Chunk Size 4096, then ~1 MB of 25 fps video: a 30 KB keyframe, then 4 KB frames. */
function chunkStream(): { bytes: Buffer, messages: number } {
  const size = Buffer.alloc(4)
  size.writeUInt32BE(CHUNK_SIZE, 0)
  const parts = [encodeChunks(CSID_PROTOCOL, MSG_SET_CHUNK_SIZE, 0, 0, size, 128)]
  let bytes = parts[0].length
  let messages = 1
  for (let frame = 0; bytes < STREAM_BYTES; frame++) {
    const key = frame % GOP_FRAMES === 0
    const m = encodeChunks(CSID_VIDEO, MSG_VIDEO, STREAM_ID, frame * FRAME_MS, payload(key ? 30 * KiB : 4 * KiB, key ? 0x17 : 0x27), CHUNK_SIZE)
    parts.push(m)
    bytes += m.length
    messages++
  }
  return { bytes: Buffer.concat(parts), messages }
}

const stream = chunkStream()
const reads: Buffer[] = []
for (let i = 0; i < stream.bytes.length; i += READ_BYTES) reads.push(stream.bytes.subarray(i, i + READ_BYTES))
const readsInto = Buffer.allocUnsafe(stream.bytes.length)

const p64k = payload(64 * KiB, 0x17)
const into64k = Buffer.allocUnsafe(64 * KiB)

let seen = 0
const onMessage = (): void => { seen++ }

const READ_BASELINE = 'baseline: Buffer.copy of 1 MB in 64 KB reads into a preallocated buffer'
const READ = 'ChunkReader.push 1 MB of 4 KB-chunked video in 64 KB reads'
const WRITE_BASELINE = 'baseline: Buffer.copy 64 KB into a preallocated buffer'
const WRITE = 'encodeChunks 64 KB payload at chunk size 4096'

summary(() => {
  bench(READ_BASELINE, () => {
    let at = 0
    for (const r of reads) at += r.copy(readsInto, at)
    do_not_optimize(at)
  }).baseline(true)
  bench(READ, () => {
    const reader = new ChunkReader({ maxMessageBytes: 6 * MiB, maxStreams: 64, extendedOnType3: true, onMessage })
    for (const r of reads) reader.push(r)
    do_not_optimize(reader)
  })
})
summary(() => {
  bench(WRITE_BASELINE, () => do_not_optimize(p64k.copy(into64k, 0))).baseline(true)
  bench(WRITE, () => do_not_optimize(encodeChunks(CSID_VIDEO, MSG_VIDEO, STREAM_ID, 123_456, p64k, CHUNK_SIZE)))
})

// one pass outside the timer: the reader sees every message
seen = 0
const check = new ChunkReader({ maxMessageBytes: 6 * MiB, maxStreams: 64, extendedOnType3: true, onMessage })
for (const r of reads) check.push(r)
if (seen !== stream.messages) throw new Error(`ChunkReader saw ${seen} of ${stream.messages} messages`)

const result = await run()
// medians: on a shared machine the averages swing with GC pauses and neighbours' load
const median = (name: string): number => {
  const b = result.benchmarks.find((x) => x.alias === name)
  return b?.runs[0]?.stats?.p50 ?? NaN
}
const ratio = (name: string, baseline: string): string => `${(median(name) / median(baseline)).toFixed(2)}× baseline (medians)`
console.log(`\n${READ}: ${ratio(READ, READ_BASELINE)} (${stream.bytes.length} bytes, ${stream.messages} messages, ${reads.length} reads; goal ≤ 2×)`)
console.log(`${WRITE}: ${ratio(WRITE, WRITE_BASELINE)} (goal ≤ 2×)`)
