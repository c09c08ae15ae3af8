// The witness player of the fault tests (test/helpers/witness.ts), run in a worker thread: an
// HTTP-FLV reader that notes when each audio and video tag arrives. It has an event loop of its
// own, so the arrival times show the edge's output even while the test's main thread is busy
// opening hundreds of sockets or writing a hostile publisher's bytes.
//
// It asks with HTTP/1.0, so the body is plain FLV (no chunked coding), and parses it with
// edge's FlvReader: a framing error is reported, not hidden.
import { connect } from 'node:net'
import { performance } from 'node:perf_hooks'
import { parentPort, workerData } from 'node:worker_threads'
import { FlvReader } from '../../lib/flv/reader.js'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'

export interface WitnessReaderInit {
  readonly port: number
  /** request target, e.g. "/flv/w.flv?app=live" */
  readonly target: string
}

/** What the reader has seen so far (the answer to a `report` request). */
export interface WitnessReport {
  /** wall-clock ms (performance.timeOrigin + now) at which each audio/video tag arrived */
  readonly arrivals: number[]
  readonly bytes: number
  readonly statusLine: string | null
  readonly closed: boolean
  readonly error: string | null
}

/** Messages the worker posts: the first media tag, reports, and the first tag after a time. */
export type WitnessReaderMessage =
  | { readonly kind: 'media' }
  | { readonly kind: 'report', readonly report: WitnessReport }
  | { readonly kind: 'after', readonly atMs: number }

/** What the parent asks: a report, a report and the end, or word of the first tag at or after `afterMs`. */
export type WitnessReaderRequest =
  | { readonly kind: 'report' }
  | { readonly kind: 'stop' }
  | { readonly kind: 'after', readonly afterMs: number }

/** Milliseconds on a clock every thread of the process shares. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now()
}

/** An HTTP response head is at most this long before the reader calls it broken. */
const MAX_HEAD_BYTES = 16 * 1024

function run(port: NonNullable<typeof parentPort>, init: WitnessReaderInit): void {
  const arrivals: number[] = []
  let bytes = 0
  let statusLine: string | null = null
  let closed = false
  let error: string | null = null
  let head = Buffer.alloc(0)
  let announced = false
  /** pending `after` requests: the times asked for */
  let waiting: number[] = []
  const flv = new FlvReader()

  const socket = connect(init.port, '127.0.0.1')
  socket.on('connect', () => socket.write(`GET ${init.target} HTTP/1.0\r\nHost: 127.0.0.1:${init.port}\r\n\r\n`))
  socket.on('error', (err) => { error ??= err.message })
  socket.on('close', () => { closed = true })

  const body = (b: Buffer): void => {
    if (error !== null || b.length === 0) return
    try {
      flv.push(b)
    } catch (err) {
      error = (err as Error).message
      return
    }
    const at = wallMs()
    for (const tag of flv.drain()) {
      if (tag.typeId !== MSG_AUDIO && tag.typeId !== MSG_VIDEO) continue
      arrivals.push(at)
      if (!announced) {
        announced = true
        port.postMessage({ kind: 'media' } satisfies WitnessReaderMessage)
      }
    }
    if (waiting.length > 0 && arrivals.length > 0) {
      const last = arrivals[arrivals.length - 1]
      const due = waiting.filter((x) => x <= last).length
      for (let i = 0; i < due; i++) port.postMessage({ kind: 'after', atMs: last } satisfies WitnessReaderMessage)
      waiting = waiting.filter((x) => x > last)
    }
  }

  socket.on('data', (d: Buffer) => {
    bytes += d.length
    if (statusLine !== null) {
      body(d)
      return
    }
    // copy: the head may span reads (only until the blank line)
    head = Buffer.concat([head, d])
    const end = head.indexOf('\r\n\r\n')
    if (end === -1) {
      if (head.length > MAX_HEAD_BYTES) error = 'response head too long'
      return
    }
    statusLine = head.toString('latin1', 0, head.indexOf('\r\n'))
    if (!/^HTTP\/1\.[01] 200 /.test(statusLine)) error = `answered ${statusLine}`
    body(head.subarray(end + 4))
  })

  port.on('message', (m: WitnessReaderRequest) => {
    if (m.kind === 'after') {
      const found = arrivals.find((a) => a >= m.afterMs)
      if (found !== undefined) port.postMessage({ kind: 'after', atMs: found } satisfies WitnessReaderMessage)
      else waiting.push(m.afterMs)
      return
    }
    if (m.kind === 'stop') socket.destroy()
    const report: WitnessReport = { arrivals: [...arrivals], bytes, statusLine, closed, error }
    port.postMessage({ kind: 'report', report } satisfies WitnessReaderMessage)
  })
}

if (parentPort !== null) run(parentPort, workerData as WitnessReaderInit)
