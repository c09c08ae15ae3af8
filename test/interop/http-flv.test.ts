// HTTP-FLV playback (issue 3, spec §8, observed §1, §13 scenarios 4 and 32): ffmpeg publishes
// into a real edge process; ffprobe plays every URL form back, and a raw-socket client checks
// the exact bytes: status line, header order, chunk framing, FLV header, error statuses.
import t, { type Test } from 'tap'
import { MSG_AUDIO, MSG_DATA_AMF0 } from '../../lib/media/message.js'
import { runProcess } from '../helpers/edge.js'
import { errorPage, SERVER_NAME as SERVER } from '../helpers/expected.js'
import { publish, startLiveEdge } from '../helpers/node.js'
import { RawHttpClient, type RawRequestOptions } from '../helpers/raw-http.js'

/** bound on one ffprobe run */
const PROBE_TIMEOUT_MS = 15_000
/** bound on waiting for a response or for tags (the publisher may still be starting) */
const RESPONSE_WAIT_MS = 8000
/** FLV header with flags 05 (audio + video), then PreviousTagSize0 (spec §8.5) */
const FLV_HEADER_AV = Buffer.from('464c5601050000000900000000', 'hex')
/** the same with flags 01: what `audio=0` announces */
const FLV_HEADER_V = Buffer.from('464c5601010000000900000000', 'hex')
/** observed §1.1: the four Access-Control-* headers flv_live sends last, in this order */
const CORS_HEADERS: [string, string][] = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Credentials', '*'],
  ['Access-Control-Expose-Headers', '*'],
  ['Access-Control-Allow-Headers', 'Content-Type,Access-Token'],
]
/** RFC 9110 IMF-fixdate, as nginx writes Date */
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

// `flv_live` names the RTMP listener exactly as `listen` does (spec §8.1, observed §1)
const { rtmpPort, httpPort } = await startLiveEdge(t, {
  app: 'cache_time 1s;\n            send_all on;',
  flv: { '/flv': '', '/live': 'app=live', '/noaudio': 'app=live audio=0', '/raw': 'app=live; chunked_transfer_encoding off' },
})
const rtmp = `127.0.0.1:${rtmpPort}`
const pub = publish(`rtmp://${rtmp}/live/s1`)
t.teardown(() => pub.stop())

/** A raw request, closed at the end of the test. */
async function request(t: Test, target: string, opts: RawRequestOptions = {}): Promise<RawHttpClient> {
  const c = await RawHttpClient.request(httpPort, target, opts)
  t.teardown(() => c.close())
  return c
}

/** Wait until `c` has parsed at least one FLV tag of type `typeId` (any tag without one). */
async function untilTag(c: RawHttpClient, typeId?: number): Promise<void> {
  await c.until(() => c.tags.some((x) => typeId === undefined || x.typeId === typeId) || c.closed || c.bodyError !== null,
    RESPONSE_WAIT_MS, `an FLV tag${typeId === undefined ? '' : ` of type ${typeId}`}`)
}

/** The six headers every flv_live response carries (observed §1.1 and §1.2). */
function checkCorsHeaders(t: Test, c: RawHttpClient): void {
  t.equal(c.header('Cache-Control'), 'no-cache', 'Cache-Control: no-cache')
  for (const [name, value] of CORS_HEADERS) t.equal(c.header(name), value, `${name}: ${value}`)
}

const URL_FORMS = ['/flv/s1?app=live', '/flv/s1.flv?app=live', '/live/s1']

t.test('ffprobe decodes h264 and aac from every URL form', async (t) => {
  for (const path of URL_FORMS) {
    const url = `http://127.0.0.1:${httpPort}${path}`
    const r = await runProcess('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', url], { timeoutMs: PROBE_TIMEOUT_MS })
    t.equal(r.code, 0, `ffprobe ${path} exits 0 ${r.stderr}`)
    const streams = ((JSON.parse(r.stdout || '{}') as { streams?: { codec_name: string }[] }).streams ?? [])
      .sort((a, b) => a.codec_name.localeCompare(b.codec_name))
    t.same(streams, [{ codec_name: 'aac' }, { codec_name: 'h264', width: 320, height: 240 }], `${path}: h264 320x240 and aac`)
  }
})

t.test('200 response: exact status line, header order, chunked FLV body', async (t) => {
  for (const path of URL_FORMS) {
    t.test(path, async (t) => {
      const c = await request(t, path)
      await untilTag(c)
      t.equal(c.statusLine, 'HTTP/1.1 200 OK', 'status line')
      t.same(c.headers.map(([n]) => n), ['Server', 'Date', 'Content-Type', 'Transfer-Encoding', 'Connection', 'Cache-Control',
        ...CORS_HEADERS.map(([n]) => n)], 'header names in PingOS order')
      t.equal(c.header('Server'), SERVER, `Server: ${SERVER}`)
      t.match(c.header('Date') ?? '', HTTP_DATE, 'Date in IMF-fixdate form')
      t.equal(c.header('Content-Type'), 'video/x-flv', 'Content-Type: video/x-flv')
      t.equal(c.header('Transfer-Encoding'), 'chunked', 'Transfer-Encoding: chunked')
      t.equal(c.header('Connection'), 'close', 'Connection: close')
      checkCorsHeaders(t, c)
      t.equal(c.header('Content-Length'), undefined, 'no Content-Length')
      t.match(c.rawBody.toString('latin1'), /^[0-9a-fA-F]+\r\n/, 'the body starts with a chunk size line')
      t.equal(c.bodyError, null, 'the chunk framing and the FLV inside it parse')
      t.same(c.body.subarray(0, FLV_HEADER_AV.length), FLV_HEADER_AV, 'de-chunked body starts 46 4C 56 01 05 00 00 00 09 00 00 00 00')
      t.equal(c.tags[0]?.typeId, MSG_DATA_AMF0, 'the first tag is script data')
    })
  }
})

t.test('flv_live audio=0: flags byte 01, audio tags still sent', async (t) => {
  const c = await request(t, '/noaudio/s1')
  await untilTag(c, MSG_AUDIO)
  t.equal(c.status, 200)
  t.same(c.body.subarray(0, FLV_HEADER_V.length), FLV_HEADER_V, 'FLV header 46 4C 56 01 01 00 00 00 09 00 00 00 00')
  t.ok(c.tags.some((x) => x.typeId === MSG_AUDIO), 'audio tags are present (the flag does not filter)')
})

t.test('chunked_transfer_encoding off: raw body, no chunk framing', async (t) => {
  const c = await request(t, '/raw/s1')
  await untilTag(c)
  t.equal(c.statusLine, 'HTTP/1.1 200 OK', 'status line')
  t.same(c.headers.map(([n]) => n), ['Server', 'Date', 'Content-Type', 'Connection', 'Cache-Control', ...CORS_HEADERS.map(([n]) => n)],
    'the same headers without Transfer-Encoding')
  t.same(c.rawBody.subarray(0, FLV_HEADER_AV.length), FLV_HEADER_AV, 'the bytes after the head are the FLV header itself')
  t.equal(c.bodyError, null, 'the raw body parses as FLV')
  t.equal(c.tags[0]?.typeId, MSG_DATA_AMF0, 'the first tag is script data')
})

t.test('HEAD of a published stream: the 200 head of a play, no body, then close (issue 12: no play)', async (t) => {
  await untilTag(await request(t, '/live/s1'))
  const c = await RawHttpClient.request(httpPort, '/live/s1', { method: 'HEAD' })
  t.teardown(() => c.close())
  const res = await c.response({ head: true })
  t.equal(res.statusLine, 'HTTP/1.1 200 OK')
  t.equal(Object.fromEntries(res.headers)['Content-Type'], 'video/x-flv')
  await c.waitClosed()
  t.equal(c.unread().length, 0, 'no FLV bytes after the head')
})

t.test('an HTTP/1.0 request gets no chunking', async (t) => {
  const c = await request(t, '/flv/s1?app=live', { version: 'HTTP/1.0' })
  await untilTag(c)
  t.equal(c.status, 200)
  t.equal(c.header('Transfer-Encoding'), undefined, 'no Transfer-Encoding')
  t.equal(c.header('Connection'), 'close', 'Connection: close')
  t.equal(c.header('Content-Length'), undefined, 'no Content-Length')
  t.same(c.rawBody.subarray(0, FLV_HEADER_AV.length), FLV_HEADER_AV, 'the bytes after the head are the FLV header itself')
  t.equal(c.bodyError, null, 'the raw body parses as FLV')
})

/** Wait for a complete error response (head plus Content-Length bytes of body). */
async function errorResponse(t: Test, target: string): Promise<RawHttpClient> {
  const c = await request(t, target)
  await c.waitHead(RESPONSE_WAIT_MS)
  const length = Number(c.header('Content-Length'))
  await c.until(() => c.body.length >= length || c.closed, RESPONSE_WAIT_MS, 'the error page')
  return c
}

/** An nginx error page with `status`, `Connection: <connection>` and the CORS headers (observed §1.2). */
function checkErrorResponse(t: Test, c: RawHttpClient, status: string, connection: string): void {
  t.equal(c.statusLine, `HTTP/1.1 ${status}`, 'status line')
  t.equal(c.header('Server'), SERVER)
  t.equal(c.header('Content-Type'), 'text/html')
  t.equal(c.header('Connection'), connection, `Connection: ${connection} (observed §1.2)`)
  checkCorsHeaders(t, c)
  t.equal(c.body.toString('latin1'), errorPage(status), 'nginx error page')
  t.equal(Number(c.header('Content-Length')), c.body.length, 'Content-Length matches the page')
}

t.test('/flv without a stream name → 400', async (t) => {
  checkErrorResponse(t, await errorResponse(t, '/flv'), '400 Bad Request', 'close')
})

t.test('an unknown app (?app=nope) → 404', async (t) => {
  checkErrorResponse(t, await errorResponse(t, '/flv/s1?app=nope'), '404 Not Found', 'keep-alive')
})

t.test('HEAD → 200 with the stream headers, no body, connection closed', async (t) => {
  const c = await request(t, '/flv/s1?app=live', { method: 'HEAD' })
  await c.until(() => c.closed, RESPONSE_WAIT_MS, 'the server to close the connection')
  t.equal(c.statusLine, 'HTTP/1.1 200 OK', 'status line')
  t.equal(c.header('Server'), SERVER)
  t.equal(c.header('Content-Type'), 'video/x-flv', 'Content-Type: video/x-flv')
  t.equal(c.header('Connection'), 'close', 'Connection: close')
  checkCorsHeaders(t, c)
  t.equal(c.header('Content-Length'), undefined, 'no Content-Length')
  t.equal(c.rawBody.length, 0, 'no body')
})
