// Small pieces shared by the in-process unit tests (AMF, FLV, handshake, the pull clients):
// byte literals from hex text, a seeded PRNG, the error a call throws, and a bounded wait on
// a `change` event.
import { on, type EventEmitter } from 'node:events'
import { ProtocolError } from '../../lib/core/errors.js'

/** Bytes from hex text; whitespace and `//` comments are ignored. */
export function hex(text: string): Buffer {
  const digits = text.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, '')
  if (!/^(?:[0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex literal: ${digits}`)
  return Buffer.from(digits, 'hex')
}

/** xorshift32: the same sequence on every run, so a failure repeats */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x100000000
  }
}

/** The error fn throws, or null when it returns. */
export function thrown(fn: () => void): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return null
}

/** null when fn throws ProtocolError ERR_AMF_DECODE; otherwise what happened instead. */
export function decodeFailure(fn: () => unknown): string | null {
  try {
    const r = fn()
    return `no error: ${JSON.stringify(r)?.slice(0, 80)}`
  } catch (err) {
    if (err instanceof ProtocolError && err.code === 'ERR_AMF_DECODE') return null
    return `wrong error: ${String(err)}`
  }
}

/** the default bound of until(): how long a local peer may take */
export const CHANGE_WAIT_MS = 5000

/** Resolves once cond() holds, re-checked on each `change` of `ee`; rejects after `ms`. */
export async function until(ee: EventEmitter, cond: () => boolean, what: string, ms = CHANGE_WAIT_MS): Promise<void> {
  if (cond()) return
  const signal = AbortSignal.timeout(ms)
  try {
    for await (const _ of on(ee, 'change', { signal })) if (cond()) return
  } catch (err) {
    if (signal.aborted) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    throw err
  }
  throw new Error(`stopped waiting for ${what}`)
}
