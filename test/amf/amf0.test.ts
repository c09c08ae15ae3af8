// AMF0 codec against hand-written byte vectors ("Action Message Format -- AMF 0"): the commands
// ffmpeg and PingOS exchange, every marker, every truncated prefix, hostile lengths, counts and
// nesting, seeded garbage, and encode/decode round trips with key order checked.
import t, { type Test } from 'tap'
import { ProtocolError } from '../../lib/core/errors.js'
import {
  MAX_AMF_DEPTH, decodeAmf0, decodeAmf0All, encodeAmf0, type AmfObject, type AmfValue,
} from '../../lib/amf/amf0.js'
import { decodeFailure, hex, prng } from '../helpers/unit.js'

/** Every key of every object, depth first, with its path: equal lists mean equal key order. */
function keyOrder(v: AmfValue, path = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keyOrder(x, `${path}[${i}]`))
  if (v === null || typeof v !== 'object' || v instanceof Date) return []
  return Object.keys(v).flatMap((k) => [`${path}.${k}`, ...keyOrder(v[k], `${path}.${k}`)])
}

/** Offsets where each top-level value of `bytes` starts and ends. */
function valueBounds(bytes: Buffer): [start: number, end: number][] {
  const bounds: [number, number][] = []
  for (let off = 0; off < bytes.length;) {
    const [, next] = decodeAmf0(bytes, off)
    bounds.push([off, next])
    off = next
  }
  return bounds
}

/**
 * Every prefix that cuts a value short fails with ERR_AMF_DECODE, whether decoded value by
 * value or as a whole message; a prefix that ends between values decodes to the values before.
 */
function checkTruncations(t: Test, bytes: Buffer, values: AmfValue[]): void {
  const bounds = valueBounds(bytes)
  const failures: string[] = []
  for (const [start, end] of bounds) {
    for (let i = start; i < end; i++) {
      const f = decodeFailure(() => decodeAmf0(bytes.subarray(0, i), start))
      if (f !== null) failures.push(`decodeAmf0 prefix ${i} at ${start}: ${f}`)
    }
  }
  const boundaries = new Set(bounds.map(([start]) => start))
  for (let i = 0; i < bytes.length; i++) {
    const prefix = bytes.subarray(0, i)
    if (boundaries.has(i)) {
      const k = bounds.findIndex(([start]) => start === i)
      t.strictSame(decodeAmf0All(prefix), values.slice(0, k), `prefix of ${i} bytes holds ${k} values`)
    } else {
      const f = decodeFailure(() => decodeAmf0All(prefix))
      if (f !== null) failures.push(`decodeAmf0All prefix ${i}: ${f}`)
    }
  }
  t.strictSame(failures, [], `all ${bytes.length} truncations of ${bytes.length} bytes fail cleanly`)
}

// ------------------------------------------------------------------------- command vectors

interface Vector {
  readonly name: string
  readonly bytes: Buffer
  readonly values: AmfValue[]
  /** encodeAmf0(...values) reproduces bytes exactly (not for ECMA arrays, typed objects, …) */
  readonly exact: boolean
}

const vectors: Vector[] = [
  {
    name: 'connect as ffmpeg (Lavf60) sends it to publish',
    bytes: hex(`
      02 0007 636f6e6e656374                                   // "connect"
      00 3ff0000000000000                                      // transaction id 1.0
      03                                                       // command object
        0003 617070     02 0004 6c697665                       // app: "live"
        0004 74797065   02 000a 6e6f6e70726976617465           // type: "nonprivate"
        0008 666c617368566572                                  // flashVer:
          02 0024 464d4c452f332e302028636f6d70617469626c653b204c61766636302e31362e31303029
                                                               //   "FMLE/3.0 (compatible; Lavf60.16.100)"
        0005 746355726c                                        // tcUrl:
          02 001a 72746d703a2f2f3132372e302e302e313a313933352f6c697665
                                                               //   "rtmp://127.0.0.1:1935/live"
      000009                                                   // object end
    `),
    values: ['connect', 1, {
      app: 'live', type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; Lavf60.16.100)', tcUrl: 'rtmp://127.0.0.1:1935/live',
    }],
    exact: true,
  },
  {
    name: '_result to connect as PingOS sends it (pingos-behaviour §7.1)',
    bytes: hex(`
      02 0007 5f726573756c74                                   // "_result"
      00 3ff0000000000000                                      // transaction id 1.0
      03                                                       // properties
        0006 666d73566572  02 000d 464d532f332c302c312c313233  // fmsVer: "FMS/3,0,1,123"
        000c 6361706162696c6974696573  00 403f000000000000     // capabilities: 31
      000009
      03                                                       // information
        0005 6c6576656c  02 0006 737461747573                  // level: "status"
        0004 636f6465                                          // code:
          02 001d 4e6574436f6e6e656374696f6e2e436f6e6e6563742e53756363657373
                                                               //   "NetConnection.Connect.Success"
        000b 6465736372697074696f6e                            // description:
          02 0015 436f6e6e656374696f6e207375636365656465642e   //   "Connection succeeded."
        000e 6f626a656374456e636f64696e67  00 0000000000000000 // objectEncoding: 0
      000009
    `),
    values: ['_result', 1, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, {
      level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding: 0,
    }],
    exact: true,
  },
  {
    name: 'onStatus NetStream.Play.Start',
    bytes: hex(`
      02 0008 6f6e537461747573                                 // "onStatus"
      00 0000000000000000                                      // transaction id 0
      05                                                       // null command object
      03
        0005 6c6576656c  02 0006 737461747573                  // level: "status"
        0004 636f6465    02 0014 4e657453747265616d2e506c61792e5374617274
                                                               // code: "NetStream.Play.Start"
        000b 6465736372697074696f6e  02 000a 5374617274206c697665
                                                               // description: "Start live"
      000009
    `),
    values: ['onStatus', 0, null, { level: 'status', code: 'NetStream.Play.Start', description: 'Start live' }],
    exact: true,
  },
  {
    name: '@setDataFrame onMetaData with an ECMA array',
    bytes: hex(`
      02 000d 40736574446174614672616d65                       // "@setDataFrame"
      02 000a 6f6e4d65746144617461                             // "onMetaData"
      08 00000007                                              // ECMA array, 7 entries
        0008 6475726174696f6e          00 0000000000000000     // duration: 0
        0005 7769647468                00 4094000000000000     // width: 1280
        0006 686569676874              00 4086800000000000     // height: 720
        000c 766964656f636f6465636964  00 401c000000000000     // videocodecid: 7
        000c 617564696f636f6465636964  00 4024000000000000     // audiocodecid: 10
        0007 656e636f646572            02 000d 4c61766636302e31362e313030
                                                               // encoder: "Lavf60.16.100"
        0008 66696c6573697a65          00 0000000000000000     // filesize: 0
      000009
    `),
    values: ['@setDataFrame', 'onMetaData', {
      duration: 0, width: 1280, height: 720, videocodecid: 7, audiocodecid: 10, encoder: 'Lavf60.16.100', filesize: 0,
    }],
    exact: false,
  },
  {
    name: 'strict array',
    bytes: hex('0a 00000003  00 3ff0000000000000  02 0001 61  05'),
    values: [[1, 'a', null]],
    exact: true,
  },
  {
    name: 'date (time zone ignored)',
    bytes: hex('0b 4278bcfe56800000 0000  0b 4278bcfe56800000 ffc4'),
    values: [new Date(1700000000000), new Date(1700000000000)],
    exact: false,
  },
  {
    name: 'long string',
    bytes: Buffer.concat([hex('0c 00010000'), Buffer.alloc(0x10000, 'a')]),
    values: ['a'.repeat(0x10000)],
    exact: true,
  },
  {
    name: 'scalars: numbers, booleans, null, undefined, unsupported',
    bytes: hex(`
      00 3ff8000000000000  00 7ff8000000000000  00 8000000000000000  // 1.5, NaN, -0
      01 00  01 01  01 7f                                           // false, true, true (any non-zero)
      05  06  0d                                                    // null, undefined, unsupported
      02 0000  02 0002 c3a9  02 0004 f09f9880                       // "", "é", "😀"
    `),
    values: [1.5, NaN, -0, false, true, true, null, undefined, undefined, '', 'é', '😀'],
    exact: false,
  },
  {
    name: 'XML document, typed object, long string carrying a short one',
    bytes: hex(`
      0f 00000004 3c612f3e                                     // XML document "<a/>"
      10 0005 506f696e74                                       // typed object of class "Point"
        0001 78  00 3ff0000000000000                           // x: 1
        0001 79  00 4000000000000000                           // y: 2
      000009
      0c 00000002 6869                                         // long string "hi"
    `),
    values: ['<a/>', { x: 1, y: 2 }, 'hi'],
    exact: false,
  },
  {
    name: 'reference to an earlier object',
    bytes: hex(`
      03                                                       // object #0
        0001 61  03  0001 78 00 3ff0000000000000  000009       // a: object #1 {x: 1}
        0001 62  07 0001                                       // b: reference to #1
      000009
    `),
    values: [(() => { const o = { x: 1 }; return { a: o, b: o } })()],
    exact: true,
  },
  {
    name: 'AMF3 values behind avmplus-object-marker',
    bytes: hex(`
      02 0007 636f6e6e656374                                   // "connect"
      00 3ff0000000000000                                      // 1.0
      11 0a 0b 01                                              // AMF3 object, dynamic, anonymous
        07 617070  06 09 6c697665                              //   app: "live"
        0d 6f626a656374  04 03                                 //   object: 3 (integer)
      01                                                       // end of dynamic members
      11 04 7f                                                 // AMF3 integer 127
    `),
    values: ['connect', 1, { app: 'live', object: 3 }, 127],
    exact: false,
  },
]

for (const v of vectors) {
  t.test(v.name, async (t) => {
    const decoded = decodeAmf0All(v.bytes)
    t.strictSame(decoded, v.values, 'decodes to the expected values')
    t.strictSame(keyOrder(decoded), keyOrder(v.values), 'keys in wire order')

    // value by value, each from its own offset
    const one: AmfValue[] = []
    for (const [start, end] of valueBounds(v.bytes)) {
      const [value, next] = decodeAmf0(v.bytes, start)
      t.equal(next, end)
      one.push(value)
    }
    t.strictSame(one, v.values, 'decodeAmf0 value by value agrees')

    // at an offset inside a larger buffer, junk before and after
    const framed = Buffer.concat([hex('ff ff 09 00 0c'), v.bytes, hex('ff 0a')])
    const [first, next] = decodeAmf0(framed, 5)
    t.strictSame(first, v.values[0], 'decodes at an offset')
    t.equal(next, 5 + valueBounds(v.bytes)[0][1])

    const encoded = encodeAmf0(...decoded)
    if (v.exact) t.equal(encoded.toString('hex'), v.bytes.toString('hex'), 'encodes to the same bytes')
    const again = decodeAmf0All(encoded)
    t.strictSame(again, v.values, 'decode(encode(decode(x))) = decode(x)')
    t.strictSame(keyOrder(again), keyOrder(v.values), 'round trip keeps key order')
    t.same(encodeAmf0(...again), encoded, 'encoding is stable')

    checkTruncations(t, v.bytes, v.values)
  })
}

t.test('connect: key order and numbers as ffmpeg wrote them', async (t) => {
  const [name, tx, cmd] = decodeAmf0All(vectors[0].bytes)
  t.equal(name, 'connect')
  t.equal(tx, 1)
  t.strictSame(Object.keys(cmd as AmfObject), ['app', 'type', 'flashVer', 'tcUrl'])
  const [, , props, info] = decodeAmf0All(vectors[1].bytes)
  t.strictSame(Object.keys(props as AmfObject), ['fmsVer', 'capabilities'])
  t.strictSame(Object.keys(info as AmfObject), ['level', 'code', 'description', 'objectEncoding'])
})

t.test('references resolve to the same object', async (t) => {
  const [v] = decodeAmf0All(vectors.find((x) => x.name.startsWith('reference'))!.bytes) as [AmfObject]
  t.equal(v.a, v.b, 'a and b are one object')

  // one table per message: a later value may refer to an object in an earlier one
  const shared = { x: 1 }
  const two = encodeAmf0(shared, [shared])
  t.equal(two.toString('hex'), hex('03 0001 78 00 3ff0000000000000 000009  0a 00000001 07 0000').toString('hex'))
  const [a, b] = decodeAmf0All(two) as [AmfObject, AmfValue[]]
  t.equal(a, b[0])
  // decodeAmf0 starts a fresh table for each call
  t.equal(decodeFailure(() => decodeAmf0(two, 16)), null, 'reference into another call fails')

  // strict arrays take table slots too (§2.9): outer #0, arr #1, object #2, then a reference to #1
  const arr = [1]
  const out = encodeAmf0([arr, { a: arr }])
  t.equal(out.toString('hex'), hex(`
    0a 00000002  0a 00000001 00 3ff0000000000000  03 0001 61 07 0001 000009
  `).toString('hex'))
  const [outer] = decodeAmf0All(out) as [[AmfValue[], AmfObject]]
  t.equal(outer[0], outer[1].a)
})

t.test('ECMA array count is not trusted', async (t) => {
  t.strictSame(decodeAmf0(hex('08 00000000  0001 61 00 3ff0000000000000  000009'), 0), [{ a: 1 }, 20])
  t.strictSame(decodeAmf0(hex('08 ffffffff 000009'), 0), [{}, 8], 'count 2^32-1, no entries')
  t.equal(decodeFailure(() => decodeAmf0(hex('08 ffffffff'), 0)), null, 'count 2^32-1, no end')
  t.strictSame(decodeAmf0(hex('03 0000 05 000009'), 0), [{ '': null }, 7], 'an empty name followed by a value is a property')
})

t.test('malformed input', async (t) => {
  const cases: [string, string][] = [
    ['', 'empty buffer'],
    ['04', 'movieclip (reserved)'],
    ['0e', 'recordset (reserved)'],
    ['09', 'object end outside an object'],
    ['03 0001 61 09', 'object end as a property value'],
    ['12', 'unknown marker 0x12'],
    ['ff', 'unknown marker 0xff'],
    ['07 0000', 'reference with an empty table'],
    ['03 0001 61 07 0001 000009', 'reference past the table'],
    ['03 0001 61 07 0000 000009', 'circular reference to the open object'],
    ['0a 00000001 07 0000', 'circular reference to the open array'],
    ['02 ffff 616263', 'string length 0xffff, 3 bytes present'],
    ['0c ffffffff 61', 'long string length 0xffffffff'],
    ['0f ffffffff', 'XML document length 0xffffffff'],
    ['0a ffffffff', 'strict array count 2^32-1, no entries'],
    ['0a ffffffff 05 05 05 05', 'strict array count 2^32-1, 4 entries'],
    ['10 ffff 61', 'typed object class name past the end'],
    ['0b 0000000000000000 00', 'date missing a time-zone byte'],
    ['11', 'avmplus marker and nothing after'],
    ['11 0a 07 01', 'AMF3 externalizable object'],
  ]
  for (const [bytes, what] of cases) t.equal(decodeFailure(() => decodeAmf0(hex(bytes), 0)), null, what)
  t.equal(decodeFailure(() => decodeAmf0All(hex('05 05 12'))), null, 'bad marker after good values')

  const buf = hex('05')
  for (const offset of [-1, 1.5, 2, NaN]) t.equal(decodeFailure(() => decodeAmf0(buf, offset)), null, `offset ${offset}`)
  t.equal(decodeFailure(() => decodeAmf0(buf, 1)), null, 'offset at the end')
  t.strictSame(decodeAmf0All(Buffer.alloc(0)), [], 'an empty message has no values')
})

t.test('nesting limit', async (t) => {
  const nestedArrays = (n: number): Buffer => Buffer.concat([...Array<Buffer>(n).fill(hex('0a 00000001')), hex('05')])
  const nestedObjects = (n: number): Buffer =>
    Buffer.concat([...Array<Buffer>(n).fill(hex('03 0001 61')), hex('05'), ...Array<Buffer>(n).fill(hex('000009'))])

  const [deepest] = decodeAmf0(nestedArrays(MAX_AMF_DEPTH), 0)
  let level = 0
  for (let v = deepest; Array.isArray(v); v = v[0]) level++
  t.equal(level, MAX_AMF_DEPTH, `${MAX_AMF_DEPTH} nested arrays decode`)
  t.equal(decodeFailure(() => decodeAmf0(nestedArrays(MAX_AMF_DEPTH + 1), 0)), null, `${MAX_AMF_DEPTH + 1} nested arrays fail`)
  t.doesNotThrow(() => decodeAmf0(nestedObjects(MAX_AMF_DEPTH), 0), `${MAX_AMF_DEPTH} nested objects decode`)
  t.equal(decodeFailure(() => decodeAmf0(nestedObjects(MAX_AMF_DEPTH + 1), 0)), null, `${MAX_AMF_DEPTH + 1} nested objects fail`)
  t.equal(decodeFailure(() => decodeAmf0(nestedArrays(100_000), 0)), null, '100,000 levels: ProtocolError, not a stack overflow')

  // the limit holds across the switch to AMF3: AMF0 arrays, then AMF3 arrays (09 03 01 = one dense item)
  const mixed = (amf0: number, amf3: number): Buffer => Buffer.concat([
    ...Array<Buffer>(amf0).fill(hex('0a 00000001')), hex('11'), ...Array<Buffer>(amf3).fill(hex('09 03 01')), hex('01'),
  ])
  t.doesNotThrow(() => decodeAmf0(mixed(60, MAX_AMF_DEPTH - 60), 0), 'AMF0 + AMF3 levels at the limit decode')
  t.equal(decodeFailure(() => decodeAmf0(mixed(60, MAX_AMF_DEPTH - 59), 0)), null, 'one more level across the switch fails')

  const deep: AmfValue[] = []
  let inner = deep
  for (let i = 1; i < MAX_AMF_DEPTH; i++) { const next: AmfValue[] = []; inner.push(next); inner = next }
  t.doesNotThrow(() => encodeAmf0(deep), 'the encoder writes what the decoder accepts')
  t.throws(() => encodeAmf0([deep]), RangeError, 'and refuses one level more')
})

// ------------------------------------------------------------------------------- encoding

t.test('encodes each type as the spec writes it', async (t) => {
  const cases: [AmfValue, string][] = [
    [1.5, '00 3ff8000000000000'],
    [31, '00 403f000000000000'],
    [true, '01 01'],
    [false, '01 00'],
    ['', '02 0000'],
    ['live', '02 0004 6c697665'],
    ['é', '02 0002 c3a9'],
    ['😀', '02 0004 f09f9880'],
    [null, '05'],
    [undefined, '06'],
    [new Date(1700000000000), '0b 4278bcfe56800000 0000'],
    [[], '0a 00000000'],
    [{}, '03 000009'],
    [[1, 'a', null], '0a 00000003  00 3ff0000000000000  02 0001 61  05'],
    [{ a: [true], b: {} }, '03 0001 61 0a 00000001 01 01  0001 62 03 000009  000009'],
    [{ u: undefined }, '03 0001 75 06 000009'],
  ]
  for (const [value, bytes] of cases) {
    t.equal(encodeAmf0(value).toString('hex'), hex(bytes).toString('hex'), JSON.stringify(value) ?? String(value))
  }
  t.equal(encodeAmf0().length, 0, 'no values, no bytes')
  t.equal(encodeAmf0('a', 1, null).toString('hex'), hex('02 0001 61  00 3ff0000000000000  05').toString('hex'), 'values follow each other')
})

t.test('long strings: chosen by UTF-8 length', async (t) => {
  const cases: [string, number, number][] = [
    ['a'.repeat(0xffff), 0x02, 3], // exactly 65535 bytes: still a string
    ['a'.repeat(0x10000), 0x0c, 5],
    ['é'.repeat(0x8000), 0x0c, 5], // 32768 characters, 65536 bytes
    ['é'.repeat(0x7fff) + 'a', 0x02, 3], // 65535 bytes
  ]
  for (const [s, marker, header] of cases) {
    const bytes = Buffer.byteLength(s)
    const out = encodeAmf0(s)
    t.equal(out[0], marker, `${s.length} characters, ${bytes} bytes → marker ${marker}`)
    t.equal(out.length, header + bytes)
    t.equal(marker === 0x02 ? out.readUInt16BE(1) : out.readUInt32BE(1), bytes, 'length field in bytes')
    t.equal(decodeAmf0(out, 0)[0], s)
  }
})

t.test('key order survives, including a "__proto__" key', async (t) => {
  const value: AmfObject = { zeta: 1, alpha: 2, mid: { b: 1, a: 2 }, '': 'empty name' }
  const out = encodeAmf0(value)
  const [back] = decodeAmf0(out, 0) as [AmfObject, number]
  t.strictSame(Object.keys(back), ['zeta', 'alpha', 'mid', ''])
  t.strictSame(Object.keys(back.mid as AmfObject), ['b', 'a'])

  // 03 { "__proto__": { polluted: true } }
  const hostile = hex('03 0009 5f5f70726f746f5f5f  03 0008 706f6c6c75746564 01 01 000009  000009')
  const [obj] = decodeAmf0(hostile, 0) as [AmfObject, number]
  t.equal(Object.getPrototypeOf(obj), Object.prototype, 'prototype untouched')
  t.strictSame(Object.keys(obj), ['__proto__'], 'stored as an own property')
  t.equal((obj as { polluted?: unknown }).polluted, undefined)
  t.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype untouched')
  t.equal(encodeAmf0(obj).toString('hex'), hostile.toString('hex'), 'and encoded back as it came')
})

t.test('shared objects become references; cycles and oversize names are refused', async (t) => {
  const o = { x: 1 }
  t.equal(encodeAmf0({ a: o, b: o }).toString('hex'), vectors.find((x) => x.name.startsWith('reference'))!.bytes.toString('hex'))

  // a DAG that doubles at every level stays linear in size
  let dag: AmfValue = { leaf: 1 }
  for (let i = 0; i < 40; i++) dag = [dag, dag]
  const out = encodeAmf0(dag)
  t.ok(out.length < 1000, `2^40 leaves in ${out.length} bytes`)
  let back = decodeAmf0(out, 0)[0]
  for (let i = 0; i < 40; i++) {
    const pair = back as AmfValue[]
    t.equal(pair[0], pair[1])
    back = pair[0]
  }

  const cyclic: AmfObject = { name: 'loop' }
  cyclic.self = cyclic
  t.throws(() => encodeAmf0(cyclic), TypeError)
  const cyclicArray: AmfValue[] = []
  cyclicArray.push({ up: cyclicArray })
  t.throws(() => encodeAmf0(cyclicArray), TypeError)
  t.throws(() => encodeAmf0({ ['k'.repeat(0x10000)]: 1 }), RangeError)
  t.doesNotThrow(() => encodeAmf0({ ['k'.repeat(0xffff)]: 1 }), 'a 65535-byte name fits')
  t.throws(() => encodeAmf0(10n as unknown as AmfValue), TypeError)
})

t.test('encode then decode: seeded random values', async (t) => {
  const rand = prng(0x5eed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]
  const strings = ['', 'a', 'live', 'NetStream.Play.Start', 'é', '直播', '😀 emoji', 'x'.repeat(300), 'constructor', 'toString']
  const keys = ['a', 'b', 'level', 'code', 'description', 'app', 'tcUrl', 'z', 'é', '直播', 'hasOwnProperty']
  const gen = (depth: number): AmfValue => {
    switch (Math.floor(rand() * (depth < 4 ? 9 : 6))) {
      case 0: return pick([0, 1, -1, 31, 1.5, 1e300, -2.5e-300, Number.MAX_SAFE_INTEGER, Infinity, -Infinity, NaN])
      case 1: return rand() < 0.5
      case 2: return pick(strings)
      case 3: return pick([null, undefined])
      case 4: return new Date(Math.floor(rand() * 2e12))
      case 5: return (rand() * 1e6) | 0
      case 6: return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1))
      default: {
        const obj: AmfObject = {}
        for (let i = Math.floor(rand() * 5); i > 0; i--) obj[pick(keys)] = gen(depth + 1)
        return obj
      }
    }
  }
  const failures: string[] = []
  for (let i = 0; i < 500; i++) {
    const values = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => gen(0))
    const out = encodeAmf0(...values)
    const back = decodeAmf0All(out)
    if (JSON.stringify(keyOrder(back)) !== JSON.stringify(keyOrder(values))) failures.push(`key order, case ${i}`)
    if (!encodeAmf0(...back).equals(out)) failures.push(`re-encoding differs, case ${i}`)
    if (i < 50) t.strictSame(back, values, `case ${i}`)
  }
  t.strictSame(failures, [])
})

// ---------------------------------------------------------------------------- hostile input

/**
 * The outcome must be a value that ends inside the buffer, or ERR_AMF_DECODE. Returns whether
 * the first value decoded.
 */
function checkGarbage(buf: Buffer, failures: string[]): boolean {
  let decoded = false
  try {
    const [, next] = decodeAmf0(buf, 0)
    decoded = true
    if (!(next > 0 && next <= buf.length)) failures.push(`${buf.toString('hex')}: next ${next}`)
  } catch (err) {
    if (!(err instanceof ProtocolError && err.code === 'ERR_AMF_DECODE')) failures.push(`${buf.toString('hex')}: ${String(err)}`)
  }
  try {
    decodeAmf0All(buf)
  } catch (err) {
    if (!(err instanceof ProtocolError && err.code === 'ERR_AMF_DECODE')) failures.push(`${buf.toString('hex')} (all): ${String(err)}`)
  }
  return decoded
}

t.test('seeded garbage decodes to a value or ERR_AMF_DECODE, nothing else', async (t) => {
  const rand = prng(20240601)
  const failures: string[] = []
  let values = 0
  for (let i = 0; i < 5000; i++) {
    const buf = Buffer.alloc(1 + Math.floor(rand() * 48))
    for (let j = 0; j < buf.length; j++) {
      // mostly markers and small lengths, so that the decoder gets past the first byte
      const r = rand()
      buf[j] = r < 0.5 ? Math.floor(rand() * 0x13) : r < 0.7 ? 0 : Math.floor(rand() * 256)
    }
    if (checkGarbage(buf, failures)) values++
  }
  t.strictSame(failures, [])
  t.ok(values > 100, `${values} of 5000 decoded to a value`)
})

t.test('mutated valid messages decode to a value or ERR_AMF_DECODE', async (t) => {
  const rand = prng(7)
  const failures: string[] = []
  const sources = vectors.filter((v) => v.bytes.length < 1000)
  for (let i = 0; i < 3000; i++) {
    const buf = Buffer.from(sources[i % sources.length].bytes) // copy: mutated below
    for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256)
    checkGarbage(buf, failures)
  }
  t.strictSame(failures, [])
})
