// Issue 9: metadata cost was not linear in its size. The publisher's onMetaData was decoded
// and encoded again; AMF0 references (§2.9, a U16 index) that the encoder could not reuse past
// index 65,535 were written out in full, so a ~260 KB DAG expanded to 2^N objects (2^20: ~1 s
// and 350 MB, 2^24: out of memory). An AMF3 key over 65,535 bytes made the encoder throw and
// closed the publisher as an internal error. Now the bytes after "@setDataFrame" go on as they
// came (`meta copy`), and `meta on` encodes only the flat object it rebuilds.
import t from 'tap'
import { decodeAmf0All, encodeAmf0 } from '../../lib/amf/amf0.js'
import { LiveStream, type LiveOptions } from '../../lib/live/stream.js'
import { NodeMetrics } from '../../lib/core/node-metrics.js'
import type { PublisherHandle } from '../../lib/live/publisher.js'
import { type Sink } from '../../lib/live/player.js'
import type { Frame } from '../../lib/live/frame.js'
import { MAX_METADATA_BYTES } from '../../lib/live/metadata.js'
import { MSG_DATA_AMF0, MSG_VIDEO } from '../../lib/media/message.js'
import { hex } from '../helpers/unit.js'

const DAG_LEVELS = 20
/** more objects than a U16 reference can name, so an encoder can no longer reference the DAG */
const FILLER_OBJECTS = 0x10000

function amf0String(s: string): Buffer {
  const b = Buffer.alloc(3 + s.length)
  b[0] = 0x02
  b.writeUInt16BE(s.length, 1)
  b.write(s, 3, 'latin1')
  return b
}

function key(s: string): Buffer {
  return amf0String(s).subarray(1)
}

const OBJECT_END = Buffer.from([0x00, 0x00, 0x09])
const ref = (i: number): Buffer => Buffer.from([0x07, i >> 8, i & 0xff])

/**
 * @setDataFrame onMetaData { width: 640, x: DAG, "0": [65,536 empty objects] }: on the wire the
 * DAG comes first (objects 2..22, each naming the previous twice); JavaScript lists the key
 * "0" first, so an encoder walking Object.keys numbers the filler first.
 */
function dagMetadata(): Buffer {
  const parts: Buffer[] = [amf0String('@setDataFrame'), amf0String('onMetaData'), Buffer.from([0x03])]
  parts.push(key('width'), Buffer.from([0x00]), Buffer.alloc(8))
  parts[parts.length - 1].writeDoubleBE(640)
  parts.push(key('x'), Buffer.from([0x03])) // object 1: holds the DAG
  // object 2 is empty; object k + 1 names object k twice, so object DAG_LEVELS + 1 spans 2^DAG_LEVELS
  parts.push(key('l0'), Buffer.from([0x03]), OBJECT_END)
  for (let k = 1; k <= DAG_LEVELS; k++) parts.push(key(`l${k}`), Buffer.from([0x03]), key('a'), ref(k + 1), key('b'), ref(k + 1), OBJECT_END)
  parts.push(OBJECT_END)
  parts.push(key('0'), Buffer.from([0x0a, 0x00, 0x01, 0x00, 0x00]))
  for (let i = 0; i < FILLER_OBJECTS; i++) parts.push(Buffer.from([0x03]), OBJECT_END)
  parts.push(OBJECT_END)
  return Buffer.concat(parts)
}

function options(meta: LiveOptions['meta']): LiveOptions {
  return {
    cacheTimeMs: 0, sendAll: false, lowLatency: false, waitKey: true, waitVideo: false, idleStreams: true,
    meta, outQueue: 10240, chunkSize: 4096, hevcCodecId: 12, serverName: 'edge-test', serverId: 'edge', application: 'live',
  }
}

/** Publish `payload` as metadata, then a keyframe; the metadata Frame the player got. */
function metadataSeen(meta: LiveOptions['meta'], payload: Buffer): { frame: Frame | undefined, refused: string | null } {
  const stream = new LiveStream('edge/live/cam1', options(meta), new NodeMetrics())
  const pub: PublisherHandle = { priority: 0, close() {} }
  stream.addPublisher(pub)
  const frames: Frame[] = []
  const sink: Sink = {
    format: 'rtmp', queuedBytes: 0,
    writeFrame: (f) => { frames.push(f) }, streamBegin() {}, streamEof() {}, close() {}, fail() {},
  }
  stream.startPlayer(stream.addPlayer(sink))
  const refused = stream.publishData(pub, { typeId: MSG_DATA_AMF0, timestamp: 0, payload })
  stream.publish(pub, { typeId: MSG_VIDEO, timestamp: 0, payload: hex('17 01 000000 00000010 65') })
  return { frame: frames.find((f) => f.msg.typeId === MSG_DATA_AMF0), refused }
}

t.test('a DAG of references goes on as its own bytes with meta copy', async (t) => {
  const payload = dagMetadata()
  t.ok(payload.length < MAX_METADATA_BYTES, `${payload.length} bytes, under the limit`)
  const { frame, refused } = metadataSeen('copy', payload)
  t.equal(refused, null)
  const body = payload.subarray(amf0String('@setDataFrame').length)
  t.ok(frame !== undefined && frame.msg.payload.equals(body), 'the bytes after @setDataFrame, not an expansion')
})

t.test('a DAG of references is rebuilt from its flat fields with meta on', async (t) => {
  const { frame } = metadataSeen('on', dagMetadata())
  const values = frame === undefined ? [] : decodeAmf0All(frame.msg.payload)
  t.equal(values[0], 'onMetaData')
  t.match(values[1], { Server: 'edge-test', width: 640 })
  t.ok(frame !== undefined && frame.msg.payload.length < 400, 'a small rebuilt object')
})

t.test('an AMF3 key over 65,535 bytes in metadata is forwarded, not an internal error', async (t) => {
  // AMF0 avmplus marker, then an AMF3 dynamic anonymous object with one long key
  const longKey = 'k'.repeat(70_000)
  const u29 = (n: number): Buffer => Buffer.from([0x80 | ((n >> 22) & 0x7f), 0x80 | ((n >> 15) & 0x7f), 0x80 | ((n >> 8) & 0x7f), n & 0xff])
  const amf3 = Buffer.concat([
    Buffer.from([0x11, 0x0a, 0x0b, 0x01]), // avmplus, object, dynamic traits, class name ""
    u29((longKey.length << 1) | 1), Buffer.from(longKey), Buffer.from([0x04, 0x05]), // key → integer 5
    Buffer.from([0x01]), // empty key ends the dynamic members
  ])
  const payload = Buffer.concat([amf0String('@setDataFrame'), amf0String('onMetaData'), amf3])
  for (const meta of ['copy', 'on'] as const) {
    const { frame } = metadataSeen(meta, payload)
    t.ok(frame !== undefined, `meta ${meta}: forwarded`)
  }
})

t.test('metadata over the limit is refused with a reason for the log, and the stream goes on', async (t) => {
  const big = encodeAmf0('@setDataFrame', 'onMetaData', { blob: 'x'.repeat(MAX_METADATA_BYTES) })
  const { frame, refused } = metadataSeen('copy', big)
  t.equal(frame, undefined)
  t.equal(refused, `metadata of ${big.length} bytes refused (over ${MAX_METADATA_BYTES})`)
})
