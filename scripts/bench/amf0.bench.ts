// AMF0 cost on the two messages every session meets: the `connect` a publisher sends (decode)
// and the onStatus edge sends to every player (encode), each beside a same-run baseline that
// does the equivalent work with V8's JSON (parse the same values from a JSON string; serialize
// them to UTF-8 bytes). Ratios, not absolute times, are what to quote.
import { bench, do_not_optimize, run, summary } from 'mitata'
import { decodeAmf0All, encodeAmf0, type AmfValue } from '../../lib/amf/amf0.js'

const connect: AmfValue[] = ['connect', 1, {
  app: 'live',
  type: 'nonprivate',
  flashVer: 'FMLE/3.0 (compatible; Lavf60.16.100)',
  tcUrl: 'rtmp://127.0.0.1:1935/live',
}]
const onStatus: AmfValue[] = ['onStatus', 0, null, {
  level: 'status',
  code: 'NetStream.Play.Start',
  description: 'Start live',
}]

const connectBytes = encodeAmf0(...connect)
const connectJson = JSON.stringify(connect)
const onStatusBytes = encodeAmf0(...onStatus)
const onStatusJson = JSON.stringify(onStatus)

summary(() => {
  bench('baseline: JSON.parse connect', () => do_not_optimize(JSON.parse(connectJson)))
  bench('decodeAmf0All connect', () => do_not_optimize(decodeAmf0All(connectBytes)))
})
summary(() => {
  bench('baseline: Buffer.from(JSON.stringify) connect', () => do_not_optimize(Buffer.from(JSON.stringify(connect))))
  bench('encodeAmf0 connect', () => do_not_optimize(encodeAmf0(...connect)))
})
summary(() => {
  bench('baseline: JSON.parse onStatus', () => do_not_optimize(JSON.parse(onStatusJson)))
  bench('decodeAmf0All onStatus', () => do_not_optimize(decodeAmf0All(onStatusBytes)))
})
summary(() => {
  bench('baseline: Buffer.from(JSON.stringify) onStatus', () => do_not_optimize(Buffer.from(JSON.stringify(onStatus))))
  bench('encodeAmf0 onStatus', () => do_not_optimize(encodeAmf0(...onStatus)))
})

const result = await run()
const avg = (name: string): number => {
  const b = result.benchmarks.find((x) => x.alias === name)
  return b?.runs[0]?.stats?.avg ?? NaN
}
console.log('')
for (const [ours, baseline] of [
  ['decodeAmf0All connect', 'baseline: JSON.parse connect'],
  ['encodeAmf0 connect', 'baseline: Buffer.from(JSON.stringify) connect'],
  ['decodeAmf0All onStatus', 'baseline: JSON.parse onStatus'],
  ['encodeAmf0 onStatus', 'baseline: Buffer.from(JSON.stringify) onStatus'],
] as const) {
  console.log(`${ours}: ${(avg(ours) / avg(baseline)).toFixed(2)}× baseline (${baseline.replace('baseline: ', '')})`)
}
