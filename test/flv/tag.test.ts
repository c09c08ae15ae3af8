// FLV header and tag encoding against hand-written bytes (FLV 10.1 §E.2-E.4.1, spec §8.5).
import t from 'tap'
import { ProtocolError } from '../../lib/core/errors.js'
import { MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO } from '../../lib/media/message.js'
import { encodeFlvHeader, encodeFlvTag, FLV_TAG_HEADER_BYTES, flvTagBytes } from '../../lib/flv/tag.js'
import { CANARY_A, findCanary, installCanary } from '../../scripts/fuzz/canary.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('header: 13 bytes, flags per audio/video combination', async (t) => {
  t.same(encodeFlvHeader(true, true), hex('464C5601 05 00000009 00000000'), 'audio and video → 05')
  t.same(encodeFlvHeader(true, false), hex('464C5601 04 00000009 00000000'), 'audio only → 04')
  t.same(encodeFlvHeader(false, true), hex('464C5601 01 00000009 00000000'), 'video only → 01')
  t.same(encodeFlvHeader(false, false), hex('464C5601 00 00000009 00000000'), 'neither → 00')
  t.equal(encodeFlvHeader(true, true).length, 13)
})

t.test('tag: header, data, PreviousTagSize in one Buffer', async (t) => {
  const payload = hex('17 00 000000 01640028')
  t.same(encodeFlvTag(MSG_VIDEO, 0, payload),
    hex('09 000009 000000 00 000000  17 00 000000 01640028  00000014'), 'video tag at 0')
  t.same(encodeFlvTag(MSG_AUDIO, 40, hex('AF 01 21')),
    hex('08 000003 000028 00 000000  AF 01 21  0000000E'), 'audio tag at 40 ms')
  t.same(encodeFlvTag(MSG_DATA_AMF0, 0, Buffer.alloc(0)),
    hex('12 000000 000000 00 000000  0000000B'), 'empty script tag')
})

t.test('timestamp 0x12345678: low 24 bits, then the extended byte 0x12', async (t) => {
  t.same(encodeFlvTag(MSG_VIDEO, 0x12345678, hex('27 01')),
    hex('09 000002 345678 12 000000  27 01  0000000D'))
})

t.test('timestamps wrap at 2^32', async (t) => {
  t.same(encodeFlvTag(MSG_AUDIO, 0xffffffff, hex('AF')).subarray(4, 8), hex('FFFFFF FF'), '2^32 - 1')
  t.same(encodeFlvTag(MSG_AUDIO, 2 ** 32 + 5, hex('AF')).subarray(4, 8), hex('000005 00'), '2^32 + 5 → 5')
  t.same(encodeFlvTag(MSG_AUDIO, 0x01000000, hex('AF')).subarray(4, 8), hex('000000 01'), '2^24 → extended 01')
})

t.test('data size uses all 24 bits', async (t) => {
  const payload = Buffer.alloc(0x012345, 0xab)
  const out = encodeFlvTag(MSG_VIDEO, 0, payload)
  t.equal(out.length, flvTagBytes(payload.length))
  t.same(out.subarray(0, 4), hex('09 012345'))
  t.equal(out.readUInt32BE(out.length - 4), 0x012345 + FLV_TAG_HEADER_BYTES, 'PreviousTagSize = size + 11')
  t.ok(out.subarray(FLV_TAG_HEADER_BYTES, FLV_TAG_HEADER_BYTES + payload.length).equals(payload), 'payload bytes')
})

t.test('the payload is copied once: the tag does not alias it', async (t) => {
  const payload = Buffer.alloc(3) // Buffer.alloc never takes memory from the shared pool
  hex('AF 01 21').copy(payload)
  const out = encodeFlvTag(MSG_AUDIO, 0, payload)
  t.not(out.buffer, payload.buffer)
  payload[2] = 0
  t.equal(out[FLV_TAG_HEADER_BYTES + 2], 0x21)
})

t.test('a payload over 24 bits is ERR_FLV_FORMAT', async (t) => {
  let err: unknown
  try {
    encodeFlvTag(MSG_VIDEO, 0, Buffer.alloc(0x1000000))
  } catch (e) {
    err = e
  }
  t.ok(err instanceof ProtocolError, 'a ProtocolError')
  t.match(err, { code: 'ERR_FLV_FORMAT', message: 'FLV tag data size 16777216 exceeds 16777215' })
})

t.test('every byte of a tag is written: fresh memory (allocUnsafe) never reaches a player', async (t) => {
  // from here on in this process, allocUnsafe hands out memory filled with CANARY_A
  installCanary()
  for (const size of [0, 1, 7, 8, 9, 127, 128, 4096, 65_537]) {
    // the payload cannot spell the canary: its bytes are 0x00..0x7f
    const payload = Buffer.alloc(size, 0x21)
    const tag = encodeFlvTag(MSG_VIDEO, 0x01020304, payload)
    const expected = Buffer.concat([hex('09'), Buffer.from([size >>> 16 & 0xff, size >>> 8 & 0xff, size & 0xff]),
      hex('020304 01 000000'), payload, Buffer.from([0, (size + 11) >>> 16 & 0xff, (size + 11) >>> 8 & 0xff, (size + 11) & 0xff])])
    t.equal(findCanary(tag, CANARY_A), -1, `${size}-byte payload: no canary byte left`)
    t.same(tag, expected, `${size}-byte payload: the bytes as FLV says`)
  }
})
