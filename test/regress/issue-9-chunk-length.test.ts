// Issue 9: a publisher (or origin) that re-announces a chunk stream's length with a full
// header before the message is complete made the reader emit a buffer sized by the first
// length and filled only up to the second: uninitialised memory reached every player. A
// shorter second length than what had arrived threw an untyped RangeError.
// Fresh buffers are filled with a canary here, so a byte that did not arrive is visible.
import t from 'tap'
import { ProtocolError } from '../../lib/core/errors.js'
import { ChunkReader, type ChunkMessage } from '../../lib/rtmp/chunk-reader.js'

const CANARY = 0xa5

/** fmt 0 header on csid 4: video message of `length` bytes on stream 1 */
function header(length: number, timestamp = 0): Buffer {
  const b = Buffer.alloc(12)
  b[0] = 4
  b.writeUIntBE(timestamp, 1, 3)
  b.writeUIntBE(length, 4, 3)
  b[7] = 9
  b.writeUInt32LE(1, 8)
  return b
}

/** type-3 continuation on csid 4 */
const CONTINUE = Buffer.from([0xc4])

function readWithCanary(input: Buffer, split: number): ChunkMessage[] {
  const allocUnsafe = Buffer.allocUnsafe
  Buffer.allocUnsafe = (n: number) => allocUnsafe(n).fill(CANARY)
  try {
    const out: ChunkMessage[] = []
    const r = new ChunkReader({ maxMessageBytes: 1 << 20, maxStreams: 64, extendedOnType3: true, onMessage: (m) => out.push(m) })
    r.push(input.subarray(0, split))
    r.push(input.subarray(split))
    return out
  } finally {
    Buffer.allocUnsafe = allocUnsafe
  }
}

t.test('a shorter length re-announced mid-message starts a new message: no byte that did not arrive', async (t) => {
  // 128 bytes of a 1000-byte message, then a fresh header announcing 200 bytes and 200 bytes
  const input = Buffer.concat([
    header(1000), Buffer.alloc(128, 0x11),
    header(200), Buffer.alloc(128, 0x22), CONTINUE, Buffer.alloc(72, 0x22),
  ])
  for (let split = 1; split < input.length; split++) {
    const got = readWithCanary(input, split)
    if (got.length !== 1 || !got[0].payload.equals(Buffer.alloc(200, 0x22))) {
      t.fail(`split at ${split}: ${got.map((m) => `${m.payload.length} bytes ${m.payload.subarray(-4).toString('hex')}`).join(', ')}`)
      return
    }
  }
  t.pass('only the second message, whole, at every split')
})

t.test('a length shorter than what already arrived is not an untyped error', async (t) => {
  // 256 bytes of a 1000-byte message have arrived when a header announces 100
  const input = Buffer.concat([
    header(1000), Buffer.alloc(128, 0x11), CONTINUE, Buffer.alloc(128, 0x11),
    header(100), Buffer.alloc(100, 0x33),
  ])
  const got = readWithCanary(input, input.length)
  t.equal(got.length, 1)
  t.ok(got[0].payload.equals(Buffer.alloc(100, 0x33)), 'the new message, exactly as sent')
})

t.test('a fmt 1 header mid-message restarts too, with its delta applied once', async (t) => {
  const fmt1 = Buffer.from([0x44, 0, 0, 40, 0, 0, 50, 9]) // delta 40, length 50, video
  const input = Buffer.concat([header(500, 1000), Buffer.alloc(128, 0x11), fmt1, Buffer.alloc(50, 0x44)])
  const got = readWithCanary(input, 7)
  t.same(got.map((m) => [m.timestamp, m.payload.length, m.payload[0], m.payload[49]]), [[1040, 50, 0x44, 0x44]])
})

t.test('a length re-announced mid-message is still held to max_message', async (t) => {
  const r = new ChunkReader({ maxMessageBytes: 200, maxStreams: 64, extendedOnType3: true, onMessage: () => {} })
  let err: unknown = null
  try {
    r.push(Buffer.concat([header(200), Buffer.alloc(128), header(201)]))
  } catch (e) {
    err = e
  }
  t.ok(err instanceof ProtocolError && err.code === 'ERR_RTMP_MESSAGE', String(err))
})

t.test('announced lengths reserve at most 4 × max_message before their bytes arrive', async (t) => {
  /** fmt 0 on `csid`: a 200-byte message, of which one 128-byte chunk arrives */
  const started = (csid: number): Buffer => {
    const h = header(200)
    h[0] = csid
    return Buffer.concat([h, Buffer.alloc(128, csid)])
  }
  const r = new ChunkReader({ maxMessageBytes: 200, maxStreams: 64, extendedOnType3: true, onMessage: () => {} })
  r.push(Buffer.concat([4, 5, 6, 7].map(started)))
  t.equal(r.bytesBuffered, 800, 'four messages in progress')
  let err: unknown = null
  try {
    r.push(started(8))
  } catch (e) {
    err = e
  }
  t.ok(err instanceof ProtocolError && err.code === 'ERR_RTMP_MESSAGE', String(err))
})

t.test('a full header that keeps the length and type continues the message (nginx-rtmp, ffmpeg)', async (t) => {
  const input = Buffer.concat([header(200), Buffer.alloc(128, 0x55), header(200), Buffer.alloc(72, 0x66)])
  const got = readWithCanary(input, 20)
  t.equal(got.length, 1)
  t.ok(got[0].payload.equals(Buffer.concat([Buffer.alloc(128, 0x55), Buffer.alloc(72, 0x66)])), 'one message of both chunks')
})
