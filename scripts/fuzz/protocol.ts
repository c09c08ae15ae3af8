// What the fuzzing main thread (run.ts) and its workers (worker.ts) pass each other.
import type { LoopOptions } from './loop.js'
import type { TargetName } from './targets/index.js'

export interface WorkerInput {
  readonly target: TargetName
  readonly opts: Omit<LoopOptions, 'heartbeat' | 'onFinding' | 'onProgress'>
  /** Int32 [index, recorded length (-1: too large)], then the input bytes from HEARTBEAT_HEADER_BYTES */
  readonly heartbeat: SharedArrayBuffer
}

export type WorkerMessage =
  | { type: 'finding', kind: string, signature: string, detail: string, index: number, input: Uint8Array | null, originalBytes: number }
  | { type: 'progress', inputs: number, heapMaxBytes: number, slowestMs: number }
  | { type: 'done', inputs: number, heapMaxBytes: number, slowestMs: number, ms: number }

export const HEARTBEAT_HEADER_BYTES = 16
/** inputs up to this long are recorded for the watchdog (generated bulk inputs stay below it) */
export const HEARTBEAT_INPUT_BYTES = 8 * 1024 * 1024
