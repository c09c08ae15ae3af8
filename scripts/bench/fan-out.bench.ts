// Fan-out cost (STYLE rule 4, issue 5): one 1,400-byte video message published to a live
// stream with 1,000 players, each queuing it on its own merged output (lib/core/output.ts) as
// the RTMP session does, beside a same-run baseline (a plain loop handing one Buffer reference
// to 1,000 objects). The outputs write to a socket stand-in that takes the bytes and does
// nothing: the kernel's part is the load benchmark's (npm run bench:load), not this one's.
// Then the heap the fan-out allocates: heapUsed around 10,000 publishes after a full GC, with
// 1,000 players and with 1 player; the difference is what each player costs per message
// (goal: nothing). Needs --expose-gc (scripts/bench/run.ts passes it).
import type { Socket } from 'node:net'
import { bench, do_not_optimize, run, summary } from 'mitata'
import { Output, WriteMerger } from '../../lib/core/output.js'
import { NodeMetrics } from '../../lib/core/node-metrics.js'
import type { Frame } from '../../lib/live/frame.js'
import { LiveStream, type LiveOptions } from '../../lib/live/stream.js'
import type { PublisherHandle } from '../../lib/live/publisher.js'
import { type Sink } from '../../lib/live/player.js'
import { MSG_VIDEO, type MediaMessage } from '../../lib/media/message.js'

const PLAYERS = 1000
const FRAME_BYTES = 1400
const CHUNK_SIZE = 4096
const HEAP_PUBLISHES = 10_000
/** publishes between two full GCs while measuring: few enough that no scavenge runs in between */
const HEAP_BATCH = 100

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)')

/** merge_frame's default: every 32nd message per player flushes its queue */
const MERGE_FRAME = 32

/** Takes written bytes and drops them (what a socket does once the kernel has them). */
const socketStandIn = {
  writableLength: 0,
  destroyed: false,
  bytes: 0,
  write(b: Buffer): boolean { this.bytes += b.length; return true },
  cork(): void {},
  uncork(): void {},
}

/** flushed by merge_frame only: its timer fires after the bench has ended */
const merger = new WriteMerger(3_600_000)

/** A player's sink as the RTMP session is one: the frame's RTMP bytes queued on its output. */
class OutputSink implements Sink {
  readonly format = 'rtmp' as const
  private readonly out = new Output(socketStandIn as unknown as Socket, () => {})
  constructor() { this.out.configure(merger, MERGE_FRAME, 0) }
  get queuedBytes(): number { return this.out.queuedBytes }
  writeFrame(frame: Frame): void { this.out.write(frame.rtmp) }
  streamBegin(): void {}
  streamEof(): void {}
  close(): void {}
  fail(): void {}
}

const options: LiveOptions = {
  cacheTimeMs: 0, sendAll: false, lowLatency: false, waitKey: true, waitVideo: false, idleStreams: true,
  meta: 'on', outQueue: 10240, chunkSize: CHUNK_SIZE, hevcCodecId: 12, serverName: 'edge-bench', serverId: 'edge', application: 'live',
}

function video(head: number, bytes: number): MediaMessage {
  const payload = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) payload[i] = i & 0xff
  payload[0] = head
  payload[1] = 1 // AVC NALU
  return { typeId: MSG_VIDEO, timestamp: 40, payload }
}

/** A stream whose `players` players have all started video (header and a keyframe sent). */
function streamWith(players: number): { stream: LiveStream, pub: PublisherHandle, sinks: OutputSink[] } {
  const stream = new LiveStream('edge/live/bench', options, new NodeMetrics())
  const pub: PublisherHandle = { priority: 0, close() {} }
  stream.addPublisher(pub)
  const sinks = Array.from({ length: players }, () => new OutputSink())
  for (const s of sinks) stream.startPlayer(stream.addPlayer(s))
  const header = video(0x17, 40)
  header.payload[1] = 0 // AVC sequence header
  stream.publish(pub, header)
  stream.publish(pub, video(0x17, FRAME_BYTES))
  return { stream, pub, sinks }
}

const inter = video(0x27, FRAME_BYTES)
const many = streamWith(PLAYERS)
const one = streamWith(1)

// the baseline: the same hand-over with nothing around it
const plain = Array.from({ length: PLAYERS }, () => ({ last: null as Buffer | null }))
const shared = Buffer.allocUnsafe(FRAME_BYTES + 12)

const BASELINE = `baseline: assign one Buffer reference to ${PLAYERS.toLocaleString('en')} objects`
const PUBLISH = `LiveStream.publish ${FRAME_BYTES} B video to ${PLAYERS.toLocaleString('en')} players`

summary(() => {
  bench(BASELINE, () => {
    for (let i = 0; i < plain.length; i++) plain[i].last = shared
    do_not_optimize(plain[PLAYERS - 1].last)
  }).baseline(true)
  bench(PUBLISH, () => {
    many.stream.publish(many.pub, inter)
    do_not_optimize(socketStandIn.bytes)
  })
})

const result = await run()
// medians: on a shared machine the averages swing with GC pauses and neighbours' load
const median = (name: string): number => {
  const b = result.benchmarks.find((x) => x.alias === name)
  return b?.runs[0]?.stats?.p50 ?? NaN
}
const publishNs = median(PUBLISH)
const baselineNs = median(BASELINE)
console.log(`\n${PUBLISH}: ${(publishNs / baselineNs).toFixed(2)}× baseline (medians; ` +
  `${(publishNs / PLAYERS).toFixed(1)} ns per player vs ${(baselineNs / PLAYERS).toFixed(1)} ns)`)

/** Heap growth per publish, in bytes, over HEAP_PUBLISHES publishes measured in GC-free batches. */
function heapPerPublish(publish: () => void): { heap: number, external: number, negativeBatches: number } {
  let heap = 0
  let external = 0
  let negativeBatches = 0
  for (let done = 0; done < HEAP_PUBLISHES; done += HEAP_BATCH) {
    gc?.()
    const before = process.memoryUsage()
    for (let i = 0; i < HEAP_BATCH; i++) publish()
    const after = process.memoryUsage()
    const d = after.heapUsed - before.heapUsed
    // a negative batch means a scavenge ran inside it; its figure is a lower bound
    if (d < 0) negativeBatches++
    heap += d
    external += after.external - before.external
  }
  return { heap: heap / HEAP_PUBLISHES, external: external / HEAP_PUBLISHES, negativeBatches }
}

const baselineHeap = heapPerPublish(() => {
  for (let i = 0; i < plain.length; i++) plain[i].last = shared
})
const manyHeap = heapPerPublish(() => many.stream.publish(many.pub, inter))
const oneHeap = heapPerPublish(() => one.stream.publish(one.pub, inter))
const perPlayer = (manyHeap.heap - oneHeap.heap) / (PLAYERS - 1)
const note = (h: { negativeBatches: number }): string => (h.negativeBatches > 0 ? ` (${h.negativeBatches} batches saw a GC)` : '')

console.log(`heap per publish (${HEAP_PUBLISHES.toLocaleString('en')} publishes, after gc()):`)
console.log(`  baseline loop, ${PLAYERS} objects: ${baselineHeap.heap.toFixed(0)} B${note(baselineHeap)}`)
console.log(`  ${PLAYERS} players: ${manyHeap.heap.toFixed(0)} B heap, ${manyHeap.external.toFixed(0)} B external${note(manyHeap)}`)
console.log(`  1 player: ${oneHeap.heap.toFixed(0)} B heap, ${oneHeap.external.toFixed(0)} B external${note(oneHeap)}` +
  ' (the Frame and its one RTMP encoding)')
// + 0 turns a -0 from rounding into 0
console.log(`bytes allocated per player per message: ${(Math.round(perPlayer * 100) / 100 + 0).toFixed(2)} (goal 0)`)
