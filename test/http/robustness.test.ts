// Issue 3, "bad input closes only the offending session with one log line", HTTP side: one
// edge, one ffmpeg publisher on live/s1 and one HTTP-FLV player (the witness) counting the
// bytes it receives. Each subtest opens a fresh connection, sends one oversized request head,
// and checks:
//   (a) edge answers with nginx's status for it and closes that connection, within a bound;
//   (b) edge logs exactly one line about that connection, naming the reason;
//   (c) the witness receives more media after the bad request than before;
//   (d) the edge process is still running.
// nginx's limits (large_client_header_buffers 4 8k): a request line longer than one buffer is
// 414 Request-URI Too Large ("client sent too long URI"); a head that does not fit in the
// buffers is 400 ("client sent too long header line" / "client sent too large request").
// A head that never finishes is closed after client_header_timeout (60 s): not tested here.
import t, { type Test } from 'tap'
import { BAD_INPUT_EDGE, publishLive, startLiveEdge, type EdgeProcess } from '../helpers/node.js'
import { SERVER_NAME } from '../helpers/expected.js'
import { RawHttpClient, type RawResponse } from '../helpers/raw-http.js'
import { peerLines } from '../helpers/session-log.js'

/** how long the server may take to answer and close a refused request */
const CLOSE_WAIT_MS = 2000
/** bound on the wait for the log line and for the witness to receive more bytes */
const EVENT_WAIT_MS = 5000
/** bound on the publisher reaching edge and the witness starting */
const START_WAIT_MS = 15_000

// Set up in t.before, not at top level: tap ends a root test that awaits between assertions.
let edge: EdgeProcess
let witness: RawHttpClient
let httpPort = 0

t.before(async () => {
  const node = await startLiveEdge(t, BAD_INPUT_EDGE)
  edge = node.edge
  httpPort = node.httpPort
  await publishLive(t, edge, node.rtmpPort, START_WAIT_MS)
  // only counted: the witness reads media for the whole file's run
  witness = await RawHttpClient.open(httpPort, { keepBytes: false })
  t.teardown(() => witness.close())
  witness.send(`GET /flv/s1.flv HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\n\r\n`)
  // headers are withheld until the first frame: a few KB means media is flowing
  await witness.until(() => witness.bytesReceived > 4096, START_WAIT_MS, 'the witness to receive media')
})

/**
 * Send `request` on a fresh connection and check (a)–(d): the response has `status`, the
 * server closes, and the one log line about this client matches `reason`.
 */
async function expectRefused(t: Test, request: string, status: number, reason: RegExp): Promise<RawResponse> {
  const c = await RawHttpClient.open(httpPort)
  t.teardown(() => c.close())
  c.send(request)
  const res = await c.response({ timeoutMs: CLOSE_WAIT_MS })
  t.equal(res.status, status, `answered ${res.statusLine}`)
  await c.waitClosed(CLOSE_WAIT_MS)
  t.pass(`the server closed the connection within ${CLOSE_WAIT_MS} ms`)
  const before = witness.bytesReceived
  await edge.waitForLog(new RegExp(`client: [0-9a-f.:]*:${c.localPort}(?:,|$)`, 'm'), EVENT_WAIT_MS)
  await witness.until(() => witness.bytesReceived > before, EVENT_WAIT_MS, 'the witness to receive more media')
  t.ok(witness.bytesReceived > before, `the witness kept receiving media (${before} → ${witness.bytesReceived} bytes)`)
  t.notOk(witness.closed, 'the witness is still connected')
  // checked last: a duplicate line would have had the witness wait to show up
  const lines = peerLines(edge.log(), c.localPort)
  t.equal(lines.length, 1, `exactly one log line for the bad request:\n${lines.join('\n')}`)
  t.match(lines[0] ?? '', reason, 'the log line names the reason')
  t.equal(edge.child.exitCode, null, 'edge is still running')
  t.equal(edge.child.signalCode, null, 'edge was not killed by a signal')
  return res
}

t.test('a request with 10,000 headers is refused with 400 and closed', async (t) => {
  // 8 bytes a line × 10,000 = 80,000 bytes of head, over 4 × 8k
  const request = `GET /flv/s1.flv HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\n${'X-N: v\r\n'.repeat(10_000)}\r\n`
  const res = await expectRefused(t, request, 400, /client sent .*too (large|long)/)
  // nginx answers its internal 494 as "400 Bad Request" with ngx_http_error_494_page
  t.equal(res.body.toString('latin1'), '<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n' +
    '<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n' +
    `<hr><center>${SERVER_NAME}</center>\r\n</body>\r\n</html>\r\n`, "nginx's 494 error page")
})

t.test('a 10 KB request line is refused with 414 Request-URI Too Large and closed', async (t) => {
  // one request line of 10,240 + 15 bytes, over one 8k buffer; sent with one write
  const request = `GET /${'a'.repeat(10_240)} HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\n\r\n`
  const res = await expectRefused(t, request, 414, /client sent .*(too long URI|request line too long)/)
  t.equal(res.body.toString('latin1'), '<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n' +
    `<center><h1>414 Request-URI Too Large</h1></center>\r\n<hr><center>${SERVER_NAME}</center>\r\n</body>\r\n</html>\r\n`,
  "nginx's 414 error page")
})

t.test('none of the bad input reached an internal error', async (t) => {
  t.notMatch(edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
})
