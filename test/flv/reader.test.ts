// FLV reader against a hand-built HTTP-FLV body (FLV 10.1 §E.2-E.4.1, spec §2.3), fed whole,
// split at every offset and one byte at a time; each of PingOS's checks as its own violation.
import t, { type Test } from 'tap'
import { ProtocolError } from '../../lib/core/errors.js'
import { FlvReader, FlvReaderState, type FlvReaderOptions, type FlvTag } from '../../lib/flv/reader.js'
import { encodeFlvHeader, encodeFlvTag } from '../../lib/flv/tag.js'
import { thrown } from '../helpers/unit.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

const HEADER = '464C5601 05 00000009'
const PREV0 = '00000000'
// onMetaData as an empty ECMA array: 02 000A "onMetaData" 08 00000000 000009 (21 bytes)
const SCRIPT = '12 000015 000000 00 000000   02 000A 6F6E4D65746144617461 08 00000000 000009   00000020'
// AAC sequence header: AudioSpecificConfig 12 10 (LC, 44.1 kHz, stereo) (4 bytes)
const AAC_SEQ = '08 000004 000000 00 000000   AF00 1210   0000000F'
// AVC sequence header: avcC with one SPS and one PPS (24 bytes)
const AVC_SEQ = '09 000018 000000 00 000000   1700 000000 0164001F FFE1 0004 6764001F 01 0004 68EE3CB0   00000023'
// AVC keyframe at 40 ms, composition time 0, one IDR NAL unit (14 bytes)
const KEYFRAME = '09 00000E 000028 00 000000   1701 000000 00000005 6588840021   00000019'

const STREAM = hex([HEADER, PREV0, SCRIPT, AAC_SEQ, AVC_SEQ, KEYFRAME].join(''))

interface PlainTag { typeId: number, timestamp: number, payload: string }
const EXPECTED: PlainTag[] = [
  { typeId: 18, timestamp: 0, payload: '02000a6f6e4d65746144617461' + '08' + '00000000' + '000009' },
  { typeId: 8, timestamp: 0, payload: 'af001210' },
  { typeId: 9, timestamp: 0, payload: '1700000000' + '0164001fffe100046764001f01000468ee3cb0' },
  { typeId: 9, timestamp: 40, payload: '1701000000' + '000000056588840021' },
]
/** where each tag's body ends in STREAM: the tag is complete from there on */
const BODY_ENDS = [13 + 11 + 21, 13 + 36 + 11 + 4, 13 + 36 + 19 + 11 + 24, 13 + 36 + 19 + 39 + 11 + 14]

/** A copy in memory of its own: small Buffer.from() copies share Node's pool, which would
 * make every `.buffer` identity check pass or fail by accident. */
function own(bytes: Buffer): Buffer {
  const out = Buffer.alloc(bytes.length)
  bytes.copy(out)
  return out
}

const plain = (tags: FlvTag[]): PlainTag[] =>
  tags.map((x) => ({ typeId: x.typeId, timestamp: x.timestamp, payload: x.payload.toString('hex') }))

function readPieces(pieces: Buffer[], opts?: FlvReaderOptions): PlainTag[] {
  const r = new FlvReader(opts)
  for (const p of pieces) r.push(p)
  return plain(r.drain())
}

/** Whole, split at every offset, and bytewise: each way throws ERR_FLV_FORMAT with `message`. */
function failsAllWays(t: Test, bytes: Buffer, message: string, opts?: FlvReaderOptions): void {
  const whole = new FlvReader(opts)
  const e = thrown(() => whole.push(bytes))
  t.ok(e instanceof ProtocolError, `whole: ProtocolError (got ${String(e)})`)
  t.match(e, { code: 'ERR_FLV_FORMAT', message }, 'whole: code and message')
  t.equal(whole.state, FlvReaderState.FAILED, 'whole: state FAILED')
  t.match(thrown(() => whole.push(hex('00'))), { code: 'ERR_FLV_FORMAT' }, 'a push after failing throws again')
  t.equal(whole.state, FlvReaderState.FAILED, 'stays FAILED')
  let bad = 0
  for (let i = 1; i < bytes.length; i++) {
    const r = new FlvReader(opts)
    const err = thrown(() => { r.push(bytes.subarray(0, i)); r.push(bytes.subarray(i)) })
    if (!(err instanceof ProtocolError) || err.code !== 'ERR_FLV_FORMAT' || err.message !== message) bad++
  }
  t.equal(bad, 0, 'split at every offset: same error')
  const r = new FlvReader(opts)
  const err = thrown(() => { for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1)) })
  t.match(err, { code: 'ERR_FLV_FORMAT', message }, 'bytewise: same error')
}

t.test('a whole stream: script, AAC and AVC sequence headers, keyframe', async (t) => {
  const r = new FlvReader()
  t.equal(r.state, FlvReaderState.HEADER)
  r.push(STREAM)
  t.same(plain(r.drain()), EXPECTED)
  t.same(r.drain(), [], 'drain empties the queue')
  t.equal(r.state, FlvReaderState.TAG_HEADER, 'the last PreviousTagSize read: waiting for a tag header')
  t.equal(r.bytesBuffered, 0)
})

t.test('split at every offset: same tags, same payload bytes', async (t) => {
  let bad = 0
  for (let i = 1; i < STREAM.length; i++) {
    const got = readPieces([STREAM.subarray(0, i), STREAM.subarray(i)])
    if (JSON.stringify(got) !== JSON.stringify(EXPECTED)) {
      bad++
      t.same(got, EXPECTED, `split at ${i}`)
    }
  }
  t.equal(bad, 0, `${STREAM.length - 1} splits`)
  const bytes: Buffer[] = []
  for (let i = 0; i < STREAM.length; i++) bytes.push(STREAM.subarray(i, i + 1))
  t.same(readPieces(bytes), EXPECTED, 'one byte at a time')
  t.same(readPieces([Buffer.alloc(0), STREAM, Buffer.alloc(0)]), EXPECTED, 'empty pushes are harmless')
})

t.test('payloads are views of the pushed chunk unless a tag spans chunks', async (t) => {
  const input = own(STREAM)
  const r = new FlvReader()
  r.push(input)
  for (const tag of r.drain()) {
    t.equal(tag.payload.buffer, input.buffer, `type ${tag.typeId} payload shares the input's memory`)
    t.ok(tag.payload.byteOffset >= input.byteOffset && tag.payload.byteOffset < input.byteOffset + input.length)
  }
  // split inside the AVC sequence header's body: that tag alone is copied
  const cut = BODY_ENDS[2] - 5
  const a = own(input.subarray(0, cut))
  const b = own(input.subarray(cut))
  const r2 = new FlvReader()
  r2.push(a)
  r2.push(b)
  const tags = r2.drain()
  t.equal(tags[0].payload.buffer, a.buffer, 'script tag: view of the first chunk')
  t.equal(tags[1].payload.buffer, a.buffer, 'AAC header: view of the first chunk')
  t.not(tags[2].payload.buffer, a.buffer, 'AVC header spans chunks: copied')
  t.not(tags[2].payload.buffer, b.buffer, 'AVC header spans chunks: copied')
  t.equal(tags[3].payload.buffer, b.buffer, 'keyframe: view of the second chunk')
  // a tag header split across chunks with the whole body in the second: still a view
  const cut2 = BODY_ENDS[3] - 14 - 3
  const c = own(input.subarray(0, cut2))
  const d = own(input.subarray(cut2))
  const r3 = new FlvReader()
  r3.push(c)
  r3.push(d)
  t.equal(r3.drain()[3].payload.buffer, d.buffer, 'keyframe body whole in the second chunk: a view')
})

t.test('truncated stream: no tag for the incomplete one, no error', async (t) => {
  let bad = 0
  for (let i = 0; i <= STREAM.length; i++) {
    const r = new FlvReader()
    const err = thrown(() => r.push(STREAM.subarray(0, i)))
    const complete = BODY_ENDS.filter((end) => end <= i).length
    const got = plain(r.drain())
    if (err !== null || JSON.stringify(got) !== JSON.stringify(EXPECTED.slice(0, complete))) {
      bad++
      t.same({ err, got }, { err: null, got: EXPECTED.slice(0, complete) }, `prefix of ${i} bytes`)
    }
  }
  t.equal(bad, 0, `${STREAM.length + 1} prefixes`)
})

t.test('state and bytesBuffered while a tag is incomplete', async (t) => {
  const r = new FlvReader()
  r.push(STREAM.subarray(0, 5))
  t.equal(r.state, FlvReaderState.HEADER)
  t.equal(r.bytesBuffered, 5, 'a partial header')
  r.push(STREAM.subarray(5, 13))
  t.equal(r.state, FlvReaderState.TAG_HEADER)
  r.push(STREAM.subarray(13, 13 + 11 + 10))
  t.equal(r.state, FlvReaderState.TAG_BODY)
  t.equal(r.bytesBuffered, 21, 'the script tag body being assembled')
  r.push(STREAM.subarray(13 + 11 + 10, BODY_ENDS[1]))
  t.equal(r.bytesBuffered, 21 + 4, 'two payloads parsed, not yet drained')
  t.equal(r.drain().length, 2)
  t.equal(r.bytesBuffered, 0)
})

t.test('extended timestamp, header size ignored, empty tag', async (t) => {
  const bytes = hex([
    '464C5601 05 0000000D', // DataOffset 13: read, then 9 assumed as PingOS does
    PREV0,
    '09 000002 345678 12 000000  2701  0000000D', // timestamp 0x12345678
    '08 000000 FFFFFF FF 000000  0000000B', // empty audio tag at 2^32 - 1
  ].join(''))
  t.same(readPieces([bytes]), [
    { typeId: 9, timestamp: 0x12345678, payload: '2701' },
    { typeId: 8, timestamp: 0xffffffff, payload: '' },
  ])
  let bad = 0
  for (let i = 1; i < bytes.length; i++) {
    if (JSON.stringify(readPieces([bytes.subarray(0, i), bytes.subarray(i)])) !== JSON.stringify(readPieces([bytes]))) bad++
  }
  t.equal(bad, 0, 'split at every offset')
})

t.test('what encodeFlvTag writes, FlvReader reads back', async (t) => {
  const tags = [
    { typeId: 18, timestamp: 0, payload: hex('0200') },
    { typeId: 9, timestamp: 0x12345678, payload: Buffer.alloc(70_000, 7) },
    { typeId: 8, timestamp: 0xfffffffe, payload: hex('AF01') },
  ] as const
  const bytes = Buffer.concat([encodeFlvHeader(true, true), ...tags.map((x) => encodeFlvTag(x.typeId, x.timestamp, x.payload))])
  const pieces: Buffer[] = []
  for (let i = 0; i < bytes.length; i += 1000) pieces.push(bytes.subarray(i, i + 1000))
  t.same(readPieces(pieces), plain(tags.map((x) => ({ ...x }))))
})

t.test('violations are ERR_FLV_FORMAT and leave the reader FAILED', async (t) => {
  const tail = [PREV0, SCRIPT].join('')
  t.test('bad signature', async (t) => failsAllWays(t, hex('464C5801 05 00000009' + tail), 'bad FLV signature 464c58'))
  t.test('version 2', async (t) => failsAllWays(t, hex('464C5602 05 00000009' + tail), 'unsupported FLV version 2'))
  t.test('first PreviousTagSize 5', async (t) => failsAllWays(t, hex(HEADER + '00000005' + SCRIPT), 'FLV PreviousTagSize 5, expected 0'))
  t.test('PreviousTagSize mismatch', async (t) => {
    const bytes = hex([HEADER, PREV0, SCRIPT.replace(/00000020$/, '00000021'), AAC_SEQ].join(''))
    failsAllWays(t, bytes, 'FLV PreviousTagSize 33, expected 32')
    const r = new FlvReader()
    t.ok(thrown(() => r.push(bytes)) instanceof ProtocolError)
    t.same(plain(r.drain()), EXPECTED.slice(0, 1), 'the tag before the violation can still be drained')
  })
  t.test('tag type 7', async (t) => failsAllWays(t, hex(HEADER + PREV0 + '07 000001 000000 00 000000 00 0000000C'), 'unsupported FLV tag type 7'))
  t.test('tag type 15 (AMF3 data) is refused too', async (t) => {
    failsAllWays(t, hex(HEADER + PREV0 + '0F 000001 000000 00 000000 00 0000000C'), 'unsupported FLV tag type 15')
  })
  t.test('oversized tag', async (t) => {
    failsAllWays(t, STREAM, 'FLV tag data size 21 exceeds 20', { maxTagBytes: 20 })
    // a DataSize near 16 MiB is refused from its header alone, before any body byte arrives
    failsAllWays(t, hex(HEADER + PREV0 + '09 FFFFFF 000000 00 000000'), 'FLV tag data size 16777215 exceeds 1048576', { maxTagBytes: 1 << 20 })
  })
})
