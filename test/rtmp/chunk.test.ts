// Chunk reader and writer against hand-written byte vectors from the RTMP 1.0 spec (§5.3),
// every input also fed split at every offset.
import t, { type Test } from 'tap'
import { ProtocolError } from '../../lib/core/errors.js'
import { ChunkReader, type ChunkMessage } from '../../lib/rtmp/chunk-reader.js'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

function reader(out: ChunkMessage[], maxStreams = 70_000, maxMessageBytes = 1 << 20): ChunkReader {
  return new ChunkReader({ maxMessageBytes, maxStreams, extendedOnType3: true, onMessage: (m) => out.push(m) })
}

function plain(msgs: ChunkMessage[]): object[] {
  return msgs.map((m) => ({ ...m, payload: m.payload.toString('hex') }))
}

/** Feed whole, then split at every offset: every way gives the same messages. */
function readAllWays(t: Test, bytes: Buffer): ChunkMessage[] {
  const whole: ChunkMessage[] = []
  reader(whole).push(bytes)
  for (let i = 1; i < bytes.length; i++) {
    const got: ChunkMessage[] = []
    const r = reader(got)
    r.push(bytes.subarray(0, i))
    r.push(bytes.subarray(i))
    if (JSON.stringify(plain(got)) !== JSON.stringify(plain(whole))) {
      t.same(plain(got), plain(whole), `split at ${i}`)
      return whole
    }
  }
  const bytewise: ChunkMessage[] = []
  const r = reader(bytewise)
  for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1))
  t.same(plain(bytewise), plain(whole), 'fed one byte at a time')
  return whole
}

t.test('fmt 0, one chunk: the payload is a view of the input', async (t) => {
  const bytes = hex('03 000000 000005 14 00000000 68656c6c6f')
  const got = readAllWays(t, bytes)
  t.same(plain(got), [{ csid: 3, typeId: 20, streamId: 0, timestamp: 0, payload: '68656c6c6f' }])
  t.equal(got[0].payload.buffer, bytes.buffer, 'no copy')
  t.same(encodeChunks(3, 20, 0, 0, Buffer.from('hello'), 128), bytes, 'writer gives the same bytes')
})

t.test('spec example 5.3.2.1: fmt 0 then fmt 2 then fmt 3 (delta 20)', async (t) => {
  const p = (b: string) => b.repeat(32)
  // chunk 2 is fmt 2 (delta 20), chunks 3 and 4 are fmt 3 starting new messages
  const full = Buffer.concat([
    hex(`03 0003e8 000020 08 39300000 ${p('01')}`),
    hex(`83 000014 ${p('02')}`),
    hex(`c3 ${p('03')}`),
    hex(`c3 ${p('04')}`),
  ])
  const got = readAllWays(t, full)
  t.same(got.map((m) => [m.csid, m.typeId, m.streamId, m.timestamp, m.payload[0]]),
    [[3, 8, 12345, 1000, 1], [3, 8, 12345, 1020, 2], [3, 8, 12345, 1040, 3], [3, 8, 12345, 1060, 4]])
})

t.test('spec example 5.3.2.2: one message across chunks (chunk size 128)', async (t) => {
  const payload = Buffer.alloc(307, 7)
  const bytes = Buffer.concat([
    hex('04 0003e8 000133 09 39300000'), payload.subarray(0, 128),
    hex('c4'), payload.subarray(128, 256),
    hex('c4'), payload.subarray(256),
  ])
  const got = readAllWays(t, bytes)
  t.equal(got.length, 1)
  t.same([got[0].csid, got[0].typeId, got[0].timestamp, got[0].payload.length], [4, 9, 1000, 307])
  t.same(got[0].payload, payload)
  t.same(encodeChunks(4, 9, 12345, 1000, payload, 128), bytes, 'writer cuts at the chunk size the same way')
})

t.test('fmt 1 sets length and type with a delta', async (t) => {
  const got = readAllWays(t, hex('06 000064 000002 08 01000000 aabb  46 00000a 000003 09 ccddee'))
  t.same(got.map((m) => [m.typeId, m.streamId, m.timestamp, m.payload.toString('hex')]),
    [[8, 1, 100, 'aabb'], [9, 1, 110, 'ccddee']])
})

t.test('2- and 3-byte basic headers (5.3.1.1)', async (t) => {
  for (const [csid, basic] of [[64, '00 00'], [319, '00 ff'], [320, '01 00 01'], [65599, '01 ff ff']] as const) {
    const bytes = hex(`${basic} 000000 000001 12 00000000 2a`)
    const got = readAllWays(t, bytes)
    t.equal(got[0]?.csid, csid, `csid ${csid}`)
    t.same(encodeChunks(csid, 0x12, 0, 0, hex('2a'), 128), bytes)
  }
})

t.test('extended timestamps, repeated on fmt 3 continuation chunks', async (t) => {
  const payload = Buffer.alloc(200, 1)
  const bytes = Buffer.concat([
    hex('05 ffffff 0000c8 09 01000000 01000000'), payload.subarray(0, 128),
    hex('c5 01000000'), payload.subarray(128),
  ])
  const got = readAllWays(t, bytes)
  t.same(got.map((m) => [m.timestamp, m.payload.length]), [[0x01000000, 200]])
  t.same(encodeChunks(5, 9, 1, 0x01000000, payload, 128), bytes)
})

t.test('Set Chunk Size takes effect for the next chunk; Abort drops a partial message', async (t) => {
  const big = Buffer.alloc(300, 9)
  const bytes = Buffer.concat([
    hex('02 000000 000004 01 00000000 00001000'),
    hex('03 000000 00012c 14 00000000'), big,
  ])
  const got = readAllWays(t, bytes)
  t.same(got.map((m) => [m.typeId, m.payload.length]), [[1, 4], [20, 300]])
  const aborted = Buffer.concat([
    hex('04 000000 000100 09 01000000'), Buffer.alloc(128, 1),
    hex('02 000000 000004 02 00000000 00000004'),
    hex('04 000000 000002 08 01000000 abcd'),
  ])
  const got2 = readAllWays(t, aborted)
  t.same(got2.map((m) => [m.typeId, m.payload.toString('hex')]), [[2, '00000004'], [8, 'abcd']])
})

t.test('writer → reader round trip at chunk sizes 128, 4096 and 60000', async (t) => {
  for (const size of [128, 4096, 60000]) {
    const payload = Buffer.alloc(150_000)
    for (let i = 0; i < payload.length; i++) payload[i] = i * 7
    const got: ChunkMessage[] = []
    const r = reader(got)
    if (size !== 128) r.push(encodeChunks(2, 1, 0, 0, hex(size.toString(16).padStart(8, '0')), 128))
    r.push(encodeChunks(7, 9, 1, 123456, payload, size))
    const last = got[got.length - 1]
    t.same([last.timestamp, last.payload.equals(payload)], [123456, true], `chunk size ${size}`)
  }
})

t.test('protocol errors close the stream with ERR_RTMP_*', async (t) => {
  const expectError = (bytes: Buffer, code: string, opts?: { maxStreams?: number, maxMessageBytes?: number }) => {
    const r = reader([], opts?.maxStreams, opts?.maxMessageBytes)
    t.throws(() => r.push(bytes), { name: 'ProtocolError', code }, bytes.toString('hex'))
    t.throws(() => r.push(hex('00')), ProtocolError, 'a failed reader stays failed')
  }
  expectError(hex('02 000000 000004 01 00000000 00000000'), 'ERR_RTMP_CHUNK')
  expectError(hex('02 000000 000004 01 00000000 80000000'), 'ERR_RTMP_CHUNK')
  expectError(hex('03 000000 000401 09 01000000'), 'ERR_RTMP_MESSAGE', { maxMessageBytes: 1024 })
  expectError(hex('00 05 000000 000001 09 01000000 00'), 'ERR_RTMP_CHUNK', { maxStreams: 64 })
})
