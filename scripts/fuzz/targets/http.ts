// Target `http`: the HTTP/1.x request head reader (lib/http/request.ts). The input is what a
// client sends on a new connection; bytes after the head are kept as the connection keeps
// them (the request's `rest`, then whatever arrives later).
import { RequestHeadReader, type HttpRequest } from '../../../lib/http/request.js'
import { readSeeds } from '../corpus.js'
import { Outcome } from '../outcome.js'
import type { Target } from '../target.js'

/** Variants real clients send that the captures do not show. */
const EXTRA_SEEDS = [
  'GET /live/s1.flv HTTP/1.0\r\n\r\n',
  'GET /live/s1.flv?app=live&x=%41 HTTP/1.1\nHost: a\n\n',
  'GET http://example.com:8080/live/s1.flv HTTP/1.1\r\nHost: example.com\r\nHost: second\r\n\r\n',
  'GET /live/s1.flv HTTP/1.1\r\nHost: a\r\n\r\nGET /live/s2.flv HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /%2e%2e/%00/s1.flv HTTP/1.1\r\nX:  spaced  \r\n\r\n',
]

/** Offsets just after each space, colon and line end: where the fields of a head start. */
function httpFields(b: Buffer): number[] {
  const fields: number[] = [0]
  for (let i = 0; i < b.length && fields.length < 512; i++) {
    if (b[i] === 0x20 || b[i] === 0x3a || b[i] === 0x0a || b[i] === 0x3f || b[i] === 0x25) fields.push(i + 1)
  }
  return fields
}

function describe(req: HttpRequest): string {
  return `request ${JSON.stringify([req.method, req.target, req.path, req.query, req.version, [...req.headers]])}`
}

export function httpTarget(): Target {
  let seeds: Buffer[] | null = null
  return {
    name: 'http',
    about: 'RequestHeadReader: request line, headers, limits (400/414/494), bytes after the head',
    resumable: true,
    maxInputBytes: 64 * 1024,
    generatedShare: 0,
    seeds() {
      seeds ??= [...readSeeds('http', '.bin'), ...EXTRA_SEEDS.map((s) => Buffer.from(s, 'latin1'))]
      return seeds
    },
    fields: httpFields,
    run(input, cut) {
      const out = new Outcome()
      const reader = new RequestHeadReader()
      let req: HttpRequest | null = null
      const after: Buffer[] = []
      for (const piece of cut === null ? [input] : [input.subarray(0, cut), input.subarray(cut)]) {
        if (req !== null) {
          after.push(piece)
          continue
        }
        if (out.guard('RequestHeadReader.push', () => { req = reader.push(piece) })) break
        if (req !== null) {
          out.emit(describe(req))
          after.push((req as HttpRequest).rest)
        }
      }
      if (req !== null) out.emit('bytes after the head', Buffer.concat(after))
      else out.emit('no complete head')
      return out
    },
  }
}
