// One target's fuzzing loop in a worker thread, so that the main thread can watch it: before
// each input the worker writes the input's index and bytes into shared memory; an input that
// never returns (or exhausts the worker's heap) is then still known to the main thread, which
// ends the worker and starts another after that input.
import { parentPort, workerData } from 'node:worker_threads'
import { installCanary } from './canary.js'
import { fuzzLoop } from './loop.js'
import { makeTarget } from './targets/index.js'
import { HEARTBEAT_HEADER_BYTES, type WorkerInput, type WorkerMessage } from './protocol.js'

async function main(): Promise<void> {
  const data = workerData as WorkerInput
  const port = parentPort
  if (port === null) throw new Error('worker.ts runs as a worker thread')
  installCanary()
  const header = new Int32Array(data.heartbeat, 0, 2)
  const bytes = new Uint8Array(data.heartbeat, HEARTBEAT_HEADER_BYTES)
  const target = makeTarget(data.target)
  const stats = await fuzzLoop(target, {
    ...data.opts,
    heartbeat(index, input) {
      if (input.length <= bytes.length) {
        bytes.set(input)
        Atomics.store(header, 1, input.length)
      } else {
        Atomics.store(header, 1, -1)
      }
      Atomics.store(header, 0, index)
    },
    onFinding(f, index, input, originalBytes) {
      const msg: WorkerMessage = { type: 'finding', kind: f.kind, signature: f.signature, detail: f.detail, index, input: input === null ? null : new Uint8Array(input), originalBytes }
      port.postMessage(msg)
    },
    onProgress(p) {
      const msg: WorkerMessage = { type: 'progress', ...p }
      port.postMessage(msg)
    },
  })
  const done: WorkerMessage = { type: 'done', inputs: stats.inputs, heapMaxBytes: stats.heapMaxBytes, slowestMs: stats.slowestMs, ms: stats.ms }
  port.postMessage(done)
}

await main()
