// FLV cost, each case beside a same-run baseline: (1) encodeFlvTag against a bare Buffer.copy
// of the same payload into a preallocated buffer of the tag's size (what is left is the
// allocation and the 15 header/trailer bytes); (2) FlvReader.push over a 1 MB HTTP-FLV body in
// 64 KB chunks against a native scan of the same bytes (indexOf for a byte that is not there).
import { bench, do_not_optimize, run, summary } from 'mitata'
import { FlvReader } from '../../lib/flv/reader.js'
import { encodeFlvHeader, encodeFlvTag, flvTagBytes, FLV_TAG_HEADER_BYTES } from '../../lib/flv/tag.js'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'

const KiB = 1024
const MiB = 1024 * KiB
const CHUNK_BYTES = 64 * KiB
const STREAM_BYTES = 1 * MiB

function payload(bytes: number, first: number): Buffer {
  const out = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) out[i] = i & 0x7f
  out[0] = first
  return out
}

const p1k = payload(1 * KiB, 0x27)
const p64k = payload(64 * KiB, 0x17)
const into1k = Buffer.allocUnsafe(flvTagBytes(p1k.length))
const into64k = Buffer.allocUnsafe(flvTagBytes(p64k.length))

/** About 1 MB of 25 fps video (a 30 KB keyframe then 4 KB frames) and 40 ms AAC frames. */
function flvStream(): Buffer {
  const parts: Buffer[] = [encodeFlvHeader(true, true)]
  let bytes = parts[0].length
  for (let frame = 0; bytes < STREAM_BYTES; frame++) {
    const v = encodeFlvTag(MSG_VIDEO, frame * 40, payload(frame % 25 === 0 ? 30 * KiB : 4 * KiB, frame % 25 === 0 ? 0x17 : 0x27))
    const a = encodeFlvTag(MSG_AUDIO, frame * 40 + 3, payload(370, 0xaf))
    parts.push(v, a)
    bytes += v.length + a.length
  }
  return Buffer.concat(parts)
}

const stream = flvStream()
const chunks: Buffer[] = []
for (let i = 0; i < stream.length; i += CHUNK_BYTES) chunks.push(stream.subarray(i, i + CHUNK_BYTES))
/** a byte value that occurs nowhere in the stream, so indexOf reads every byte */
let absent = 0xff
while (stream.includes(absent)) absent--
if (absent < 0) throw new Error('every byte value occurs in the bench stream')

summary(() => {
  bench('baseline: Buffer.copy 1 KB payload into a preallocated tag-sized buffer',
    () => do_not_optimize(p1k.copy(into1k, FLV_TAG_HEADER_BYTES))).baseline(true)
  bench('encodeFlvTag 1 KB', () => do_not_optimize(encodeFlvTag(MSG_VIDEO, 123_456, p1k)))
})
summary(() => {
  bench('baseline: Buffer.copy 64 KB payload into a preallocated tag-sized buffer',
    () => do_not_optimize(p64k.copy(into64k, FLV_TAG_HEADER_BYTES))).baseline(true)
  bench('encodeFlvTag 64 KB', () => do_not_optimize(encodeFlvTag(MSG_VIDEO, 123_456, p64k)))
})
summary(() => {
  bench('baseline: indexOf scan of 1 MB in 64 KB chunks', () => {
    let found = 0
    for (const c of chunks) found += c.indexOf(absent)
    do_not_optimize(found)
  }).baseline(true)
  bench('FlvReader.push 1 MB in 64 KB chunks', () => {
    const r = new FlvReader()
    for (const c of chunks) r.push(c)
    do_not_optimize(r.drain())
  })
})

const result = await run()
// medians: on a shared machine the averages swing with GC pauses and neighbours' load
const median = (name: string): number => {
  const b = result.benchmarks.find((x) => x.alias === name)
  return b?.runs[0]?.stats?.p50 ?? NaN
}
const ratio = (name: string, baseline: string): string => `${(median(name) / median(baseline)).toFixed(2)}× baseline (medians)`
console.log(`\nencodeFlvTag 1 KB: ${ratio('encodeFlvTag 1 KB', 'baseline: Buffer.copy 1 KB payload into a preallocated tag-sized buffer')}`)
console.log(`encodeFlvTag 64 KB: ${ratio('encodeFlvTag 64 KB', 'baseline: Buffer.copy 64 KB payload into a preallocated tag-sized buffer')}`)
console.log(`FlvReader.push 1 MB / 64 KB chunks: ${ratio('FlvReader.push 1 MB in 64 KB chunks', 'baseline: indexOf scan of 1 MB in 64 KB chunks')}` +
  ` (${stream.length} bytes, ${chunks.length} chunks)`)
