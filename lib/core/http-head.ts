// HTTP/1.x response heads read by edge's outbound clients (HTTP-FLV origin pulls, notify
// callouts): one bounded, resumable reader and one parser for both. Only what the callers use
// is kept: the status and the header lines, names lower-cased.
import { ProtocolError } from './errors.js'

/** The most a response status line and headers may take (bytes, blank line included). */
export const MAX_RESPONSE_HEAD_BYTES = 16 * 1024

const LF = 0x0a
const CR = 0x0d

export interface ResponseHead {
  readonly status: number
  /** header lines in order: [lower-case name, value without surrounding blanks] */
  readonly headers: readonly (readonly [string, string])[]
  /** the bytes after the head: the start of the body (a view) */
  readonly rest: Buffer
}

/** The value of the first header `name` (lower case), or null. */
export function headerValue(head: Pick<ResponseHead, 'headers'>, name: string): string | null {
  for (const [n, v] of head.headers) if (n === name) return v
  return null
}

/** Transfer-Encoding ends with "chunked" (RFC 9112 6.1: chunked is the final coding when present). */
export function isChunked(head: Pick<ResponseHead, 'headers'>): boolean {
  const te = headerValue(head, 'transfer-encoding')
  if (te === null) return false
  const codings = te.split(',')
  return codings[codings.length - 1].trim().toLowerCase() === 'chunked'
}

/** Index just past the blank line that ends a head (CRLF CRLF or bare LF LF), or -1. */
function headEnd(buf: Buffer): number {
  for (let i = buf.indexOf(LF); i !== -1; i = buf.indexOf(LF, i + 1)) {
    if (buf[i + 1] === LF) return i + 2
    if (buf[i + 1] === CR && buf[i + 2] === LF) return i + 3
  }
  return -1
}

/**
 * Collects a response head across reads, at most MAX_RESPONSE_HEAD_BYTES. push() returns the
 * parsed head once complete, else null; a malformed or oversized head throws ProtocolError.
 */
export class ResponseHeadReader {
  private held: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): ResponseHead | null {
    // copy: the head spans reads (bounded by MAX_RESPONSE_HEAD_BYTES)
    const buf = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk])
    const end = headEnd(buf)
    if (end === -1 ? buf.length >= MAX_RESPONSE_HEAD_BYTES : end > MAX_RESPONSE_HEAD_BYTES) {
      throw new ProtocolError('ERR_HTTP_RESPONSE', `response head exceeds ${MAX_RESPONSE_HEAD_BYTES} bytes`)
    }
    if (end === -1) {
      this.held = buf
      return null
    }
    this.held = Buffer.alloc(0)
    return { ...parseHead(buf.toString('latin1', 0, end)), rest: buf.subarray(end) }
  }
}

function parseHead(text: string): Omit<ResponseHead, 'rest'> {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
  const m = /^HTTP\/1\.[01] (\d{3})(?:[ \t].*)?$/.exec(lines[0])
  if (m === null) throw new ProtocolError('ERR_HTTP_RESPONSE', `invalid status line "${lines[0].slice(0, 64)}"`)
  const headers: [string, string][] = []
  for (const line of lines.slice(1)) {
    if (line === '') continue
    const colon = line.indexOf(':')
    if (colon <= 0) throw new ProtocolError('ERR_HTTP_RESPONSE', `invalid header line "${line.slice(0, 64)}"`)
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()])
  }
  return { status: Number(m[1]), headers }
}
