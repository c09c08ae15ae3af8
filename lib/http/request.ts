// HTTP/1.x request heads, parsed incrementally with nginx's limits: a header block larger
// than large_client_header_buffers (4 × 8k) or a line over 8k is refused (400), never buffered.
import { ProtocolError } from '../core/errors.js'

/** nginx large_client_header_buffers 4 8k: the most a request line or header line may take */
export const HTTP_MAX_LINE_BYTES = 8 * 1024
/** ... and the whole head */
export const HTTP_MAX_HEAD_BYTES = 4 * 8 * 1024

export interface HttpRequest {
  readonly method: string
  /** the request target as sent (path and query) */
  readonly target: string
  /** the decoded path (nginx's r->uri) */
  readonly path: string
  /** the raw query string without "?", "" if none */
  readonly query: string
  /** 10 for HTTP/1.0, 11 for HTTP/1.1 */
  readonly version: number
  /** header names lower-cased; repeated headers joined with ", " */
  readonly headers: ReadonlyMap<string, string>
  /** bytes after the head (a pipelined request or a body) */
  readonly rest: Buffer
}

/** Percent-decode a path as nginx does for r->uri; null for a malformed escape or NUL. */
export function decodePath(raw: string): string | null {
  if (!raw.includes('%')) return raw
  try {
    const s = decodeURIComponent(raw)
    return s.includes('\0') ? null : s
  } catch (err) {
    if (err instanceof URIError) return null
    throw err
  }
}

/** A request head nginx refuses: 400, 414 (request line too long) or 494 (headers too large). */
export class BadRequest extends ProtocolError {
  constructor(readonly status: 400 | 414 | 494, message: string) {
    super('ERR_HTTP_REQUEST', message)
  }
}

const LF = 0x0a
const CR = 0x0d

/**
 * Where the head ends: the first empty line, ended by LF or CRLF after a line ended the same
 * ways (nginx accepts a bare LF). [end of the last header line, start of what follows], or
 * [-1, -1] while no empty line has arrived. The first one wins, however the bytes were split.
 * The search starts at `from`: bytes before it were searched already.
 */
function headEnd(buf: Buffer, from: number): [number, number] {
  for (let i = buf.indexOf(LF, from); i !== -1; i = buf.indexOf(LF, i + 1)) {
    const end = buf[i - 1] === CR ? i - 1 : i
    if (buf[i + 1] === LF) return [end, i + 2]
    if (buf[i + 1] === CR && buf[i + 2] === LF) return [end, i + 3]
  }
  return [-1, -1]
}

/**
 * Accumulates bytes until a complete head; returns the request, or null while incomplete.
 * Throws BadRequest for a head nginx would refuse.
 */
export class RequestHeadReader {
  private chunks: Buffer[] = []
  private bytes = 0

  push(data: Buffer): HttpRequest | null {
    this.chunks.push(data)
    this.bytes += data.length
    // copy: the head may span reads; it is small and bounded
    const buf = this.chunks.length === 1 ? data : Buffer.concat(this.chunks, this.bytes)
    this.chunks = [buf]
    // an empty line ending in these bytes starts at most 2 bytes before them: each byte of a
    // head is searched once, however it trickles in
    const [end, restAt] = headEnd(buf, Math.max(0, this.bytes - data.length - 2))
    const firstLineEnd = buf.indexOf('\n')
    if ((firstLineEnd === -1 ? buf.length : firstLineEnd) > HTTP_MAX_LINE_BYTES) {
      throw new BadRequest(414, 'request line too long')
    }
    if (end === -1) {
      if (this.bytes > HTTP_MAX_HEAD_BYTES) throw new BadRequest(494, 'request header too large')
      const lastLine = buf.length - buf.lastIndexOf('\n') - 1
      if (lastLine > HTTP_MAX_LINE_BYTES) throw new BadRequest(494, 'request header line too long')
      return null
    }
    if (end > HTTP_MAX_HEAD_BYTES) throw new BadRequest(494, 'request header too large')
    const head = buf.toString('latin1', 0, end)
    const rest = buf.subarray(restAt)
    this.chunks = []
    this.bytes = 0
    return parseHead(head, rest)
  }
}

function parseHead(head: string, rest: Buffer): HttpRequest {
  const lines = head.split(/\r?\n/)
  const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0])
  if (m === null) throw new BadRequest(400, 'invalid request line')
  const headers = new Map<string, string>()
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    if (line.length > HTTP_MAX_LINE_BYTES) throw new BadRequest(494, 'request header line too long')
    const colon = line.indexOf(':')
    if (colon <= 0) throw new BadRequest(400, 'invalid header line')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    const prev = headers.get(name)
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`)
  }
  const target = m[2]
  const q = target.indexOf('?')
  let rawPath = q === -1 ? target : target.slice(0, q)
  if (/^https?:\/\//i.test(rawPath)) rawPath = rawPath.replace(/^https?:\/\/[^/]*/i, '') || '/'
  // the head is read as latin1 (one character per byte): a path is text in UTF-8, raw or escaped
  const decoded = decodePath(Buffer.from(rawPath, 'latin1').toString('utf8'))
  if (decoded === null || !decoded.startsWith('/')) throw new BadRequest(400, 'invalid request path')
  const path = normalizePath(decoded)
  if (path === null) throw new BadRequest(400, 'invalid request path')
  return {
    method: m[1],
    target,
    path,
    query: q === -1 ? '' : target.slice(q + 1),
    version: m[3] === '0' ? 10 : 11,
    headers,
    rest,
  }
}

/**
 * The path locations are matched against, as ngx_http_parse_complex_uri leaves it: slashes
 * merged, `.` segments dropped, `..` taking the segment before it; null when it climbs above
 * `/`. Matching the raw path would let `/x/../secret` or `//secret` past a location's rules.
 */
export function normalizePath(path: string): string | null {
  const out: string[] = []
  const parts = path.split('/')
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i]
    const last = i === parts.length - 1
    if (seg === '..') {
      if (out.length === 0) return null
      out.pop()
      if (last) out.push('')
    } else if (seg === '.' || (seg === '' && !last)) {
      if (last) out.push('')
    } else out.push(seg)
  }
  return `/${out.join('/')}`
}
