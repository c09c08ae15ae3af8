// FlvClient against a node:net origin on 127.0.0.1 that records the raw request bytes and
// answers from a script (pingos-behaviour.md §2.3, pingos-observed.md §3); plus the two
// parsers it is built from, fed whole, split at every offset and one byte at a time.
import { EventEmitter, once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import {
  ChunkedBodyDecoder, ChunkedState, FlvClient, FlvClientState, flvRequestHead, type FlvPullOptions,
} from '../../lib/flv/client.js'
import { isChunked, MAX_RESPONSE_HEAD_BYTES, ResponseHeadReader, type ResponseHead } from '../../lib/core/http-head.js'
import { FlvReader } from '../../lib/flv/reader.js'
import { ProtocolError } from '../../lib/core/errors.js'
import type { MediaMessage } from '../../lib/media/message.js'
import { TEST_MEDIA, unacceptingMissing, unacceptingPort } from '../helpers/node.js'
import { until } from '../helpers/unit.js'

/** bound on every wait for the peer */
const WAIT_MS = 5000
/** piece sizes the origin cycles through when writing a body: odd, none aligned with tags */
const PIECE_BYTES = [1, 7, 333, 4093, 13, 65537, 2, 999]

const FILE = readFileSync(TEST_MEDIA)
const FILE_TAGS = ((): MediaMessage[] => {
  const r = new FlvReader()
  r.push(FILE)
  return r.drain()
})()

const OPTIONS: FlvPullOptions = {
  host: '127.0.0.1',
  port: 0,
  path: '/live/s1?tok=1',
  hostHeader: 'example.test',
  userAgent: 'LNX 9,0,124,2',
  referer: 'http://page.example/watch',
  maxTagBytes: 16 * 1024 * 1024,
  // PingOS's defaults: connect_timeout 3s, rtmp server `timeout` 60s
  connectTimeoutMs: 3000,
  readTimeoutMs: 60_000,
}

/** `bytes` cut into pieces of the PIECE_BYTES sizes, in turn. */
function pieces(bytes: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = PIECE_BYTES[i % PIECE_BYTES.length]
    out.push(bytes.subarray(at, at + n))
    at += n
  }
  return out
}

/** `body` framed as chunked transfer coding with chunk sizes from PIECE_BYTES, last chunk 0. */
function chunked(body: Buffer): Buffer {
  const parts: Buffer[] = []
  for (const p of pieces(body)) parts.push(Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n'))
  parts.push(Buffer.from('0\r\n\r\n'))
  return Buffer.concat(parts)
}

// ---- the scripted origin -------------------------------------------------------------------

interface Origin {
  readonly port: number
  /** raw request heads received, one per connection, as latin1 text */
  readonly requests: string[]
}

/** Answers each request head with `respond(socket)`. */
async function startOrigin(t: Test, respond: (socket: Socket) => void): Promise<Origin> {
  const requests: string[] = []
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    let head = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      head += d
      if (head.includes('\r\n\r\n') && requests.length < sockets.size) {
        requests.push(head)
        respond(socket)
      }
    })
    socket.on('error', () => { /* the client may destroy its end first */ })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening', { signal: AbortSignal.timeout(WAIT_MS) })
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return { port: (server.address() as AddressInfo).port, requests }
}

/** Writes `bytes` in PIECE_BYTES pieces, each its own write, then ends the socket if asked. */
function writeInPieces(socket: Socket, bytes: Buffer, end: boolean): void {
  for (const p of pieces(bytes)) socket.write(p)
  if (end) socket.end()
}

// ---- the client side -----------------------------------------------------------------------

interface Client {
  readonly client: FlvClient
  readonly ee: EventEmitter
  readonly statuses: number[]
  readonly media: MediaMessage[]
  readonly closes: string[]
  readonly calls: string[]
}

function startClient(t: Test, opts: FlvPullOptions): Client {
  const ee = new EventEmitter()
  const c: Client = {
    ee, statuses: [], media: [], closes: [], calls: [],
    client: new FlvClient(opts, {
      onResponse: (status) => { c.statuses.push(status); c.calls.push(`response:${status}`); ee.emit('change') },
      onMedia: (m) => { c.media.push(m); ee.emit('change') },
      onClose: (reason) => { c.closes.push(reason); c.calls.push('close'); ee.emit('change') },
    }),
  }
  t.teardown(() => c.client.close('test teardown'))
  c.client.start()
  return c
}

const closed = (c: Client) => (): boolean => c.closes.length > 0

function sameTags(t: Test, got: MediaMessage[], want: MediaMessage[], what: string): void {
  t.equal(got.length, want.length, `${what}: ${want.length} tags, as FlvReader reads the file`)
  const same = got.length === want.length && got.every((m, i) =>
    m.typeId === want[i].typeId && m.timestamp === want[i].timestamp && m.payload.equals(want[i].payload))
  t.ok(same, `${what}: the same types, timestamps and payloads in the same order`)
}

// ---- request bytes -------------------------------------------------------------------------

const RFC1123 = /^Date: ([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)\r$/m

t.test('the request, with Host, User-Agent and Referer', async (t) => {
  const origin = await startOrigin(t, (s) => s.end('HTTP/1.1 404 Not Found\r\n\r\n'))
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose')
  const raw = origin.requests[0]
  const date = RFC1123.exec(raw)?.[1] ?? ''
  t.ok(Math.abs(Date.parse(date) - Date.now()) < 60_000, `Date is RFC 1123 and now (${date})`)
  t.equal(raw, 'GET /live/s1?tok=1 HTTP/1.1\r\n' +
    'Host: example.test\r\n' +
    'User-Agent: LNX 9,0,124,2\r\n' +
    'Accept: */*\r\n' +
    `Date: ${date}\r\n` +
    'Referer: http://page.example/watch\r\n' +
    '\r\n', 'exact bytes, no Connection header')
})

t.test('the request, with no Host, User-Agent or Referer', async (t) => {
  const origin = await startOrigin(t, (s) => s.end('HTTP/1.1 404 Not Found\r\n\r\n'))
  const c = startClient(t, { ...OPTIONS, port: origin.port, path: '/live/s1', hostHeader: '', userAgent: '', referer: '' })
  await until(c.ee, closed(c), 'onClose')
  const raw = origin.requests[0]
  const date = RFC1123.exec(raw)?.[1] ?? ''
  t.equal(raw, `GET /live/s1 HTTP/1.1\r\nAccept: */*\r\nDate: ${date}\r\n\r\n`, 'exact bytes: the empty headers are left out entirely')
})

t.test('flvRequestHead with a fixed date', async (t) => {
  const now = new Date(Date.UTC(2026, 10, 23, 20, 51, 43))
  t.equal(flvRequestHead({ path: '/live/s1', hostHeader: '127.0.0.1', userAgent: '', referer: 'http://r.example/' }, now).toString('latin1'),
    'GET /live/s1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nDate: Mon, 23 Nov 2026 20:51:43 GMT\r\nReferer: http://r.example/\r\n\r\n')
})

t.test('CR or LF in a request field is refused before connecting', async (t) => {
  const origin = await startOrigin(t, (s) => s.end('HTTP/1.1 200 OK\r\n\r\n'))
  const c = startClient(t, { ...OPTIONS, port: origin.port, hostHeader: 'example.test\r\nX-Injected: 1' })
  t.same(c.closes, [], 'onClose is not called from inside start()')
  await until(c.ee, closed(c), 'onClose')
  t.same(c.closes, ['CR, LF or NUL in the origin request (ERR_HTTP_REQUEST)'])
  t.same(origin.requests, [], 'nothing was sent')
})

// ---- responses -----------------------------------------------------------------------------

t.test('200 with a chunked body: every tag of the file, then the end of the body closes', async (t) => {
  const origin = await startOrigin(t, (s) => {
    const head = Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx/1.17.5\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n\r\n')
    // head and body framing written in pieces that align with nothing
    writeInPieces(s, Buffer.concat([head, chunked(FILE)]), false)
  })
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose', 10_000)
  t.same(c.statuses, [200])
  sameTags(t, c.media, FILE_TAGS, 'chunked')
  t.same(c.closes, ['origin ended the chunked body'])
})

t.test('200 with a plain body: every tag of the file, until the origin closes', async (t) => {
  const origin = await startOrigin(t, (s) => {
    writeInPieces(s, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\n\r\n'), FILE]), true)
  })
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose', 10_000)
  t.same(c.statuses, [200])
  sameTags(t, c.media, FILE_TAGS, 'plain')
  t.same(c.closes, ['origin closed the connection'])
  t.equal(c.client.state, FlvClientState.CLOSED)
})

t.test('404: onResponse(404), then onClose; no body is read, no media', async (t) => {
  const origin = await startOrigin(t, (s) => {
    // a body that is FLV, to show it is not read
    s.write(Buffer.concat([Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Type: video/x-flv\r\n\r\n'), FILE.subarray(0, 4096)]))
  })
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose')
  t.same(c.calls, ['response:404', 'close'])
  t.same(c.closes, ['origin answered HTTP 404'])
  t.same(c.media, [])
})

t.test('302 is not followed', async (t) => {
  const origin = await startOrigin(t, (s) => s.write('HTTP/1.1 302 Moved Temporarily\r\nLocation: http://elsewhere.example/live/s1\r\n\r\n'))
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose')
  t.same(c.calls, ['response:302', 'close'])
  t.equal(origin.requests.length, 1, 'one request only')
})

t.test('200 with an HTML body: onClose with an FLV format error', async (t) => {
  const origin = await startOrigin(t, (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>Welcome to nginx!</body></html>\n')
  })
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose')
  t.same(c.statuses, [200])
  t.same(c.closes, ['bad FLV signature 3c6874 (ERR_FLV_FORMAT)'])
  t.same(c.media, [])
})

t.test('a truncated tag and then close: the whole tags only', async (t) => {
  // header (9) + PreviousTagSize0 (4) + the first two tags + half of the third
  const first = 13 + 11 + FILE_TAGS[0].payload.length + 4
  const second = first + 11 + FILE_TAGS[1].payload.length + 4
  const cut = second + 11 + Math.floor(FILE_TAGS[2].payload.length / 2)
  const origin = await startOrigin(t, (s) => {
    writeInPieces(s, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), FILE.subarray(0, cut)]), true)
  })
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose')
  sameTags(t, c.media, FILE_TAGS.slice(0, 2), 'truncated')
  t.same(c.closes, ['origin closed the connection'])
})

t.test('a response head over 16 KiB: onClose, no onResponse', async (t) => {
  const origin = await startOrigin(t, (s) => {
    s.write(`HTTP/1.1 200 OK\r\nX-Padding: ${'x'.repeat(MAX_RESPONSE_HEAD_BYTES)}\r\n\r\n`)
  })
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose')
  t.same(c.calls, ['close'])
  t.same(c.closes, ['response head exceeds 16384 bytes (ERR_HTTP_RESPONSE)'])
})

t.test('the origin closing before a complete head', async (t) => {
  const origin = await startOrigin(t, (s) => s.end('HTTP/1.1 200 OK\r\nContent-Ty'))
  const c = startClient(t, { ...OPTIONS, port: origin.port })
  await until(c.ee, closed(c), 'onClose')
  t.same(c.calls, ['close'])
  t.same(c.closes, ['origin closed the connection in state head'])
})

t.test('close() from inside onMedia stops delivery at once', async (t) => {
  const origin = await startOrigin(t, (s) => s.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), FILE])))
  const ee = new EventEmitter()
  const closes: string[] = []
  let media = 0
  const client = new FlvClient({ ...OPTIONS, port: origin.port }, {
    onResponse: () => {},
    onMedia: () => { media++; client.close('enough') },
    onClose: (reason) => { closes.push(reason); ee.emit('change') },
  })
  t.teardown(() => client.close('teardown'))
  client.start()
  await until(ee, () => closes.length > 0, 'onClose')
  t.same(closes, ['enough'])
  t.equal(media, 1)
})

// ---- bounded waits (issue 9) ---------------------------------------------------------------

/** a read timeout short enough for unit tests */
const READ_TIMEOUT_MS = 300
/** how late a timer may fire on a loaded machine */
const TIMER_LATE_MS = 500

for (const [label, state, respond] of [
  ['accepts TCP and never answers the request', 'head', (): void => {}],
  ['sends part of the head, then nothing', 'head', (s: Socket): void => { s.write('HTTP/1.1 200 OK\r\nContent-Ty') }],
  ['sends 200 and the FLV header, then nothing', 'body', (s: Socket): void => { s.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), FILE.subarray(0, 13)])) }],
  ['sends 200 and the first tags, then nothing', 'body', (s: Socket): void => { writeInPieces(s, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), FILE.subarray(0, 20_000)]), false) }],
] as const) {
  t.test(`an origin that ${label} is dropped readTimeoutMs after its last byte`, async (t) => {
    let answeredAt = 0
    const origin = await startOrigin(t, (s) => {
      respond(s)
      answeredAt = Date.now()
    })
    const c = startClient(t, { ...OPTIONS, port: origin.port, readTimeoutMs: READ_TIMEOUT_MS })
    await until(c.ee, closed(c), 'onClose', READ_TIMEOUT_MS + WAIT_MS)
    const after = Date.now() - answeredAt
    t.same(c.closes, [`origin sent nothing for ${READ_TIMEOUT_MS} ms in state ${state}`])
    t.ok(after >= READ_TIMEOUT_MS - 50 && after <= READ_TIMEOUT_MS + TIMER_LATE_MS, `closed ${after} ms after the origin's last byte`)
  })
}

t.test('a TCP connect that never completes ends after connectTimeoutMs', { skip: unacceptingMissing() }, async (t) => {
  const port = await unacceptingPort(t)
  const startedAt = Date.now()
  const c = startClient(t, { ...OPTIONS, port, connectTimeoutMs: READ_TIMEOUT_MS })
  await until(c.ee, closed(c), 'onClose', READ_TIMEOUT_MS + WAIT_MS)
  const after = Date.now() - startedAt
  t.same(c.closes, [`origin did not accept the connection within ${READ_TIMEOUT_MS} ms`])
  t.ok(after >= READ_TIMEOUT_MS && after <= READ_TIMEOUT_MS + TIMER_LATE_MS, `closed ${after} ms after start()`)
})

// ---- the parsers alone ---------------------------------------------------------------------

t.test('ChunkedBodyDecoder: extensions, trailers, split at every offset', async (t) => {
  const body = Buffer.from('5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nExpires: never\r\n\r\nNEXT')
  const decode = (parts: Buffer[]): { data: string, state: ChunkedState } => {
    const d = new ChunkedBodyDecoder()
    let data = ''
    for (const p of parts) for (const v of d.push(p)) data += v.toString('latin1')
    return { data, state: d.state }
  }
  const want = { data: 'hello 0123456789', state: ChunkedState.DONE }
  t.same(decode([body]), want, 'whole')
  let allSame = true
  for (let i = 1; i < body.length; i++) {
    const got = decode([body.subarray(0, i), body.subarray(i)])
    if (got.data !== want.data || got.state !== want.state) {
      t.same(got, want, `split at ${i}`)
      allSame = false
      break
    }
  }
  t.ok(allSame, 'split at every offset')
  t.same(decode([...body].map((b) => Buffer.from([b]))), want, 'one byte at a time')

  const one = new ChunkedBodyDecoder()
  const input = Buffer.from('4\r\nabcd\r\n')
  const [view] = one.push(input)
  t.equal(view.buffer, input.buffer, 'data is a view of the input, not a copy')

  for (const bad of ['zz\r\n', '123456789\r\n', '2\r\nabX\r\n', `${'0'.repeat(5000)}`]) {
    t.throws(() => new ChunkedBodyDecoder().push(Buffer.from(bad)), ProtocolError, `refused: ${JSON.stringify(bad.slice(0, 16))}`)
  }
})

t.test('ResponseHeadReader: split at every offset, LF-only lines, limits', async (t) => {
  const bytes = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nX: y\r\n\r\nBODY')
  const read = (parts: Buffer[]): { status: number, chunked: boolean, rest: string } | null => {
    const r = new ResponseHeadReader()
    let head: ResponseHead | null = null
    let rest = ''
    for (const p of parts) {
      if (head === null) {
        head = r.push(p)
        if (head !== null) rest += head.rest.toString('latin1')
      } else {
        rest += p.toString('latin1')
      }
    }
    return head === null ? null : { status: head.status, chunked: isChunked(head), rest }
  }
  const want = { status: 200, chunked: true, rest: 'BODY' }
  t.same(read([bytes]), want, 'whole')
  let allSame = true
  for (let i = 1; i < bytes.length; i++) {
    const got = read([bytes.subarray(0, i), bytes.subarray(i)])
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      t.same(got, want, `split at ${i}`)
      allSame = false
      break
    }
  }
  t.ok(allSame, 'split at every offset')
  t.same(read([Buffer.from('HTTP/1.0 503\nServer: x\n\nz')]), { status: 503, chunked: false, rest: 'z' }, 'LF-only lines, no reason phrase')
  t.same(read([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n')])?.chunked, false, 'chunked counts only as the last coding')
  t.throws(() => new ResponseHeadReader().push(Buffer.from('ICY 200 OK\r\n\r\n')), /invalid status line "ICY 200 OK"/)
  t.throws(() => new ResponseHeadReader().push(Buffer.from('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n')), /invalid header line/)
  const big = new ResponseHeadReader()
  t.equal(big.push(Buffer.alloc(MAX_RESPONSE_HEAD_BYTES - 1, 0x61)), null, 'one byte under the limit: still waiting')
  t.throws(() => big.push(Buffer.from('a')), /exceeds 16384 bytes/, 'at the limit with no blank line: refused')
})
