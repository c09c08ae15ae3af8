// AMF3 decoder against hand-written byte vectors ("Action Message Format -- AMF 3"): every
// marker, U29 edge values, string/object/traits references, every truncated prefix, hostile
// lengths and counts, nesting, seeded garbage, and the switch from AMF0 (avmplus-object-marker).
import t from 'tap'
import { ProtocolError } from '../../lib/core/errors.js'
import { decodeAmf3 } from '../../lib/amf/amf3.js'
import { MAX_AMF_DEPTH, decodeAmf0, type AmfObject, type AmfValue } from '../../lib/amf/amf0.js'
import { decodeFailure, hex, prng } from '../helpers/unit.js'

/** A U29 (AMF3 §1.3.1), for building hostile headers with large values. */
function u29(n: number): string {
  if (n < 0x80) return hex2(n)
  if (n < 0x4000) return hex2(0x80 | (n >>> 7)) + hex2(n & 0x7f)
  if (n < 0x200000) return hex2(0x80 | (n >>> 14)) + hex2(0x80 | ((n >>> 7) & 0x7f)) + hex2(n & 0x7f)
  return hex2(0x80 | (n >>> 22)) + hex2(0x80 | ((n >>> 15) & 0x7f)) + hex2(0x80 | ((n >>> 8) & 0x7f)) + hex2(n & 0xff)
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0')
}

const sharedDate = new Date(1700000000000)
const sharedObject = { a: 1 }

/** [description, bytes of one AMF3 value, the value] */
const vectors: [string, string, AmfValue][] = [
  ['undefined', '00', undefined],
  ['null', '01', null],
  ['false', '02', false],
  ['true', '03', true],
  ['integer 0', '04 00', 0],
  ['integer 127 (1 byte)', '04 7f', 127],
  ['integer 128 (2 bytes)', '04 81 00', 128],
  ['integer 16383', '04 ff 7f', 16383],
  ['integer 16384 (3 bytes)', '04 81 80 00', 16384],
  ['integer 2^21 (4 bytes, last one 8 bits)', '04 80 c0 80 00', 0x200000],
  ['integer 2^28-1, largest positive', '04 bf ff ff ff', 0x0fffffff],
  ['integer -2^28, sign bit 28 set', '04 c0 80 80 00', -0x10000000],
  ['integer -1', '04 ff ff ff ff', -1],
  ['integer 1, not minimally encoded', '04 80 80 80 01', 1],
  ['double 1.5', '05 3ff8000000000000', 1.5],
  ['string', '06 09 6c697665', 'live'],
  ['empty string', '06 01', ''],
  ['UTF-8 string', '06 09 f09f9880', '😀'],
  ['XML document', '07 09 3c612f3e', '<a/>'],
  ['XML', '0b 09 3c612f3e', '<a/>'],
  ['date', '08 01 4278bcfe56800000', sharedDate],
  ['byte array (decoded as undefined)', '0c 07 010203', undefined],
  ['vector of int', '0d 05 00 00000001 ffffffff', [1, -1]],
  ['vector of uint', '0e 05 01 00000001 ffffffff', [1, 0xffffffff]],
  ['vector of double', '0f 03 00 3ff8000000000000', [1.5]],
  ['vector of objects', '10 05 00 01  04 01  06 03 61', [1, 'a']],
  [
    'dense array; string references; the empty string takes no slot',
    `09 09 01                    // array, 4 dense items, no associative part
       06 01                     // ""
       06 05 6162                // "ab" → string #0
       06 00                     // reference to string #0
       06 03 63                  // "c" → string #1`,
    ['', 'ab', 'ab', 'c'],
  ],
  [
    'array with an associative part',
    `09 03                       // 1 dense item
       03 61  04 01              // a: 1
       01                        // end of associative part
       04 02                     // [0]: 2`,
    { a: 1, 0: 2 },
  ],
  [
    'sealed objects sharing traits by reference',
    `09 05 01
       0a 23 05 5074             // traits inline, 2 sealed members, class "Pt"
          03 78  03 79           //   names x, y
          04 01  04 02           //   x: 1, y: 2
       0a 01                     // traits reference #0
          04 03  04 04           //   x: 3, y: 4`,
    [{ x: 1, y: 2 }, { x: 3, y: 4 }],
  ],
  [
    'sealed and dynamic members',
    `0a 1b 01                    // traits inline, dynamic, 1 sealed member, anonymous
       03 78                     // sealed name x
       04 01                     // x: 1
       03 7a  06 05 6869         // dynamic z: "hi"
       00  06 00                 // dynamic x again, name and value by reference to string #0
       01                        // end of dynamic members`,
    { x: 'x', z: 'hi' },
  ],
  [
    'object, date and XML references',
    `09 0d 01                    // array #0 of 6
       0a 0b 01 03 61 04 01 01   // object #1 {a: 1}
       0a 02                     // reference to #1
       08 01 4278bcfe56800000    // date #2
       08 04                     // reference to #2
       0b 09 3c612f3e            // XML #3
       0b 06                     // reference to #3`,
    [sharedObject, sharedObject, sharedDate, sharedDate, '<a/>', '<a/>'],
  ],
  [
    'byte arrays skipped but kept in the object table',
    `09 07 01  0c 07 010203  0c 02  04 05`,
    [undefined, undefined, 5],
  ],
]

for (const [what, text, expected] of vectors) {
  t.test(what, async (t) => {
    const bytes = hex(text)
    const [value, next] = decodeAmf3(bytes, 0)
    t.strictSame(value, expected)
    t.equal(next, bytes.length, 'consumes the whole value')

    const framed = Buffer.concat([hex('ff 11 0a'), bytes, hex('ff')])
    t.strictSame(decodeAmf3(framed, 3), [expected, 3 + bytes.length], 'decodes at an offset')

    const failures: string[] = []
    for (let i = 0; i < bytes.length; i++) {
      const f = decodeFailure(() => decodeAmf3(bytes.subarray(0, i), 0))
      if (f !== null) failures.push(`prefix ${i}: ${f}`)
    }
    t.strictSame(failures, [], `all ${bytes.length} truncations fail with ERR_AMF_DECODE`)

    // the same value behind AMF0's avmplus-object-marker
    t.strictSame(decodeAmf0(Buffer.concat([hex('11'), bytes]), 0), [expected, 1 + bytes.length], 'inside AMF0')
  })
}

t.test('references keep identity and key order', async (t) => {
  const [refs] = decodeAmf3(hex(vectors.find(([w]) => w.startsWith('object, date'))![1]), 0) as [AmfValue[], number]
  t.equal(refs[0], refs[1], 'object reference')
  t.equal(refs[2], refs[3], 'date reference')
  const [mixed] = decodeAmf3(hex(vectors.find(([w]) => w.startsWith('array with an'))![1]), 0) as [AmfObject, number]
  t.strictSame(Object.keys(mixed), ['0', 'a'], 'dense index keys come first, as JavaScript orders integer keys')
  const [obj] = decodeAmf3(hex('0a 0b 01  05 7a65  04 01  03 61 04 02  05 6d6d 04 03  01'), 0) as [AmfObject, number]
  t.strictSame(Object.keys(obj), ['ze', 'a', 'mm'], 'dynamic members in wire order')
})

t.test('malformed and unsupported input', async (t) => {
  const cases: [string, string][] = [
    ['', 'empty buffer'],
    ['12', 'unknown marker 0x12'],
    ['11 03 00 06 03 61 04 01', 'dictionary'],
    ['0a 07 07 466f6f', 'externalizable object'],
    ['06 00', 'string reference with an empty table'],
    ['09 05 01 06 01 06 00', 'the empty string does not take a slot'],
    ['0a 02', 'object reference with an empty table'],
    ['09 03 01 0a 04', 'object reference past the table'],
    ['0a 05 04 01', 'traits reference past the table'],
    ['09 03 01 09 00', 'array referring to itself'],
    ['0a 0b 01 03 61 0a 00 01', 'object referring to itself'],
    ['10 03 00 01 10 00', 'object vector referring to itself'],
    ['04 ff ff ff', 'U29 cut after three bytes'],
    [`06 ${u29(0x1fffffff)} 616263`, 'string of 2^28-1 bytes, 3 present'],
    [`07 ${u29(0x1fffffff)}`, 'XML document of 2^28-1 bytes'],
    [`0c ${u29(0x1fffffff)} 00`, 'byte array of 2^28-1 bytes'],
    [`09 ${u29(0x1fffffff)} 01`, 'array of 2^28-1 dense items, none present'],
    [`0a ${u29(0x1ffffff3)} 01`, 'traits with 2^25-1 sealed members, none present'],
    [`0d ${u29(0x1fffffff)} 00 00000001`, 'int vector of 2^28-1 items, one present'],
    [`0f ${u29(0x1fffffff)} 00`, 'double vector of 2^28-1 items'],
    [`10 ${u29(0x1fffffff)} 00 01 01`, 'object vector of 2^28-1 items'],
    ['08 01 3ff0', 'date cut short'],
  ]
  for (const [bytes, what] of cases) t.equal(decodeFailure(() => decodeAmf3(hex(bytes), 0)), null, what)
  for (const offset of [-1, 0.5, 3]) t.equal(decodeFailure(() => decodeAmf3(hex('01 01'), offset)), null, `offset ${offset}`)
})

t.test('reference tables belong to one AVM+ value', async (t) => {
  // AMF0 strict array of two AVM+ strings; the second refers to string #0 of its own, empty table
  t.equal(decodeFailure(() => decodeAmf0(hex('0a 00000002  11 06 05 6162  11 06 00'), 0)), null)
  t.strictSame(decodeAmf0(hex('0a 00000002  11 06 05 6162  11 06 05 6162'), 0)[0], ['ab', 'ab'])
})

t.test('nesting limit', async (t) => {
  const nested = (n: number): Buffer => Buffer.concat([...Array<Buffer>(n).fill(hex('09 03 01')), hex('01')])
  t.doesNotThrow(() => decodeAmf3(nested(MAX_AMF_DEPTH), 0), `${MAX_AMF_DEPTH} nested arrays decode`)
  t.equal(decodeFailure(() => decodeAmf3(nested(MAX_AMF_DEPTH + 1), 0)), null, `${MAX_AMF_DEPTH + 1} fail`)
  t.equal(decodeFailure(() => decodeAmf3(nested(100_000), 0)), null, '100,000 levels: ProtocolError, not a stack overflow')
  // objects: dynamic anonymous traits once, then traits by reference
  const objects = (n: number): Buffer => Buffer.concat([
    hex('0a 0b 01 03 61'), ...Array<Buffer>(n - 1).fill(hex('0a 01 03 61')), hex('01'), ...Array<Buffer>(n).fill(hex('01')),
  ])
  t.doesNotThrow(() => decodeAmf3(objects(MAX_AMF_DEPTH), 0), `${MAX_AMF_DEPTH} nested objects decode`)
  t.equal(decodeFailure(() => decodeAmf3(objects(MAX_AMF_DEPTH + 1), 0)), null, `${MAX_AMF_DEPTH + 1} fail`)
})

t.test('seeded garbage and mutated vectors decode to a value or ERR_AMF_DECODE', async (t) => {
  const rand = prng(0xa3f3)
  const failures: string[] = []
  let values = 0
  const check = (buf: Buffer): void => {
    try {
      const [, next] = decodeAmf3(buf, 0)
      values++
      if (!(next > 0 && next <= buf.length)) failures.push(`${buf.toString('hex')}: next ${next}`)
    } catch (err) {
      if (!(err instanceof ProtocolError && err.code === 'ERR_AMF_DECODE')) failures.push(`${buf.toString('hex')}: ${String(err)}`)
    }
  }
  for (let i = 0; i < 5000; i++) {
    const buf = Buffer.alloc(1 + Math.floor(rand() * 48))
    for (let j = 0; j < buf.length; j++) {
      const r = rand()
      buf[j] = r < 0.5 ? Math.floor(rand() * 0x13) : r < 0.7 ? 1 : Math.floor(rand() * 256)
    }
    check(buf)
  }
  const sources = vectors.map(([, text]) => hex(text)).filter((b) => b.length > 2)
  for (let i = 0; i < 3000; i++) {
    const buf = Buffer.from(sources[i % sources.length]) // copy: mutated below
    for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256)
    check(buf)
  }
  t.strictSame(failures, [])
  t.ok(values > 500, `${values} of 8000 decoded to a value`)
})
