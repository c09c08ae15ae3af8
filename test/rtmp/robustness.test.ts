// Issue 3, "bad input closes only the offending session with one log line": one edge, one
// ffmpeg publisher on live/s1 and one RTMP player (the witness) that keeps counting video
// messages. Each subtest opens a fresh connection, sends one kind of bad input, and checks
// what a user of the node can see:
//   (a) the server closes that connection, within a bound;
//   (b) edge logs exactly one `close:` line for that connection, naming the reason;
//   (c) the witness receives more video after the bad input than before;
//   (d) the edge process is still running.
import { once } from 'node:events'
import { connect as tcpConnect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { encodeAmf0 } from '../../lib/amf/amf0.js'
import { MSG_COMMAND_AMF0, MSG_SET_CHUNK_SIZE, MSG_VIDEO } from '../../lib/rtmp/constants.js'
import { BAD_INPUT_EDGE, publishLive, startLiveEdge, type EdgeProcess } from '../helpers/node.js'
import { RtmpTestClient } from '../helpers/rtmp-client.js'
import { closeLines, peerPattern } from '../helpers/session-log.js'

/** the config's `timeout`: handshake idle limit */
const TIMEOUT_MS = 3000
/** the config's `max_message 1m` */
const MAX_MESSAGE_BYTES = 1024 * 1024
/** how long the server may take to close a connection it refuses (well under TIMEOUT_MS) */
const CLOSE_WAIT_MS = 2000
/** bound on the wait for the session's log line and for the witness to receive more video */
const EVENT_WAIT_MS = 5000
/** bound on the publisher reaching edge and the witness starting */
const START_WAIT_MS = 15_000

// Set up in t.before, not at top level: tap ends a root test that awaits between assertions.
let edge: EdgeProcess
let witness: RtmpTestClient
let rtmpPort = 0
const videoCount = (): number => witness.messages.reduce((n, m) => n + (m.typeId === MSG_VIDEO ? 1 : 0), 0)

t.before(async () => {
  const node = await startLiveEdge(t, BAD_INPUT_EDGE)
  edge = node.edge
  rtmpPort = node.rtmpPort
  await publishLive(t, edge, rtmpPort, START_WAIT_MS)
  witness = await RtmpTestClient.open(rtmpPort)
  t.teardown(() => witness.close())
  await witness.connectApp('live', {}, rtmpPort)
  const playStatus = await witness.play('s1')
  if (RtmpTestClient.code(playStatus) !== 'NetStream.Play.Start') throw new Error(`witness play: ${RtmpTestClient.code(playStatus)}`)
  await witness.until(() => videoCount() > 0, START_WAIT_MS, 'the witness to receive video')
})

interface Offender {
  /** the client's local port, as edge logs it */
  readonly port: number
  /** resolves when the server has closed the connection */
  closed(timeoutMs: number): Promise<void>
}

/** A TCP connection that has not sent a byte yet; `close` is listened for from the start. */
async function rawConnection(t: Test): Promise<Offender & { socket: Socket }> {
  const socket = tcpConnect(rtmpPort, '127.0.0.1')
  // a reset is a close too: only 'close' is awaited (once() would reject on 'error')
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  t.teardown(() => { socket.destroy() })
  await once(socket, 'connect', { signal: AbortSignal.timeout(CLOSE_WAIT_MS) })
  return {
    socket,
    port: socket.localPort ?? 0,
    closed: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the server did not close the connection within ${timeoutMs} ms`)), timeoutMs)
      })
      try {
        await Promise.race([closed, limit])
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

/** A client past the handshake and `connect` to live: the bad input comes on a live session. */
async function connectedClient(t: Test): Promise<Offender & { client: RtmpTestClient }> {
  const client = await RtmpTestClient.open(rtmpPort)
  t.teardown(() => client.close())
  const result = await client.connectApp('live', {}, rtmpPort)
  t.equal(result.values?.[0], '_result', 'connect to live succeeds first')
  return {
    client,
    port: client.socket.localPort ?? 0,
    closed: (timeoutMs) => client.until(() => client.closed, timeoutMs, 'the server to close the connection'),
  }
}

/**
 * (a)–(d) for one offending connection whose bad input has just been sent. `closeWithinMs`
 * bounds (a); `reason` is what the one `close:` line for this connection must say.
 */
async function expectOnlyOffenderClosed(t: Test, offender: Offender, reason: RegExp, closeWithinMs = CLOSE_WAIT_MS): Promise<void> {
  await offender.closed(closeWithinMs)
  t.pass(`the server closed the offending connection within ${closeWithinMs} ms`)
  const before = videoCount()
  await edge.waitForLog(new RegExp(` close: .*${peerPattern(offender.port).source}`, 'm'), EVENT_WAIT_MS)
  await witness.until(() => videoCount() > before, EVENT_WAIT_MS, 'the witness to receive more video')
  t.ok(videoCount() > before, `the witness kept receiving video (${before} → ${videoCount()} messages)`)
  t.notOk(witness.closed, 'the witness is still connected')
  // checked last: a duplicate line would have had the witness wait to show up
  const lines = closeLines(edge.log(), offender.port)
  t.equal(lines.length, 1, 'exactly one close: line for the offending session')
  t.match(lines[0] ?? '', reason, 'the close: line names the reason')
  t.equal(edge.child.exitCode, null, 'edge is still running')
  t.equal(edge.child.signalCode, null, 'edge was not killed by a signal')
}

t.test('garbage instead of a handshake (C0 is not 3)', async (t) => {
  const o = await rawConnection(t)
  // an HTTP request sent to the RTMP port: C0 is "G" (0x47); long enough to be a whole C0C1
  o.socket.write(Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${'X-Pad: x\r\n'.repeat(160)}\r\n`, 'latin1'))
  await expectOnlyOffenderClosed(t, o, /\[error\] .* close: .*unexpected RTMP version: 71 \(ERR_RTMP_HANDSHAKE\)/)
})

t.test('a client that stops half way through C0C1 is closed after `timeout`', async (t) => {
  const started = Date.now()
  const o = await rawConnection(t)
  // C0 = 3 and the first 767 of C1's 1536 bytes, then silence
  o.socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(767, 0x5a)]))
  await o.closed(TIMEOUT_MS + 2000)
  const elapsedMs = Date.now() - started
  t.ok(elapsedMs >= 2500 && elapsedMs <= 5000, `closed after the 3 s timeout, not before or long after (${elapsedMs} ms)`)
  await expectOnlyOffenderClosed(t, o, / close: .*timed out/)
})

t.test('Set Chunk Size 0', async (t) => {
  const o = await connectedClient(t)
  o.client.send(2, MSG_SET_CHUNK_SIZE, 0, 0, Buffer.from([0x00, 0x00, 0x00, 0x00]))
  await expectOnlyOffenderClosed(t, o, /\[error\] .* close: .*chunk size 0\b.*\(ERR_RTMP_CHUNK\)/)
})

t.test('Set Chunk Size 0x80000000 (RTMP 5.4.1: the top bit must be zero)', async (t) => {
  const o = await connectedClient(t)
  o.client.send(2, MSG_SET_CHUNK_SIZE, 0, 0, Buffer.from([0x80, 0x00, 0x00, 0x00]))
  await expectOnlyOffenderClosed(t, o, /\[error\] .* close: .*chunk size 2147483648\b.*\(ERR_RTMP_CHUNK\)/)
})

t.test('a message header declaring 2,000,000 bytes (> max_message 1m) closes before the body', async (t) => {
  const o = await connectedClient(t)
  // RTMP 5.3.1: fmt 0 on csid 4 | timestamp 0 | length 0x1E8480 = 2,000,000 | type 8 (audio) | stream 1 (LE)
  const header = Buffer.from([0x04, 0x00, 0x00, 0x00, 0x1e, 0x84, 0x80, 0x08, 0x01, 0x00, 0x00, 0x00])
  t.ok(0x1e8480 > MAX_MESSAGE_BYTES, 'the declared length is over max_message')
  // the header and 100 bytes of the first chunk: the rest of the body never comes
  o.client.socket.write(Buffer.concat([header, Buffer.alloc(100)]))
  await expectOnlyOffenderClosed(t, o, /\[error\] .* close: .*too big message: 2000000\b.*\(ERR_RTMP_MESSAGE\)/)
})

t.test('a message of unknown type 0x30', async (t) => {
  const o = await connectedClient(t)
  o.client.send(3, 0x30, 0, 0, Buffer.from([0x01, 0x02, 0x03, 0x04]))
  await expectOnlyOffenderClosed(t, o, /\[error\] .* close: .*unknown message type 48\b.*\(ERR_RTMP_MESSAGE\)/)
})

t.test('broken AMF in a command message (a truncated string)', async (t) => {
  const o = await connectedClient(t)
  // AMF0 string marker 02, length 0xFFFF, then one byte of the 65,535 it promised
  o.client.send(3, MSG_COMMAND_AMF0, 0, 0, Buffer.from([0x02, 0xff, 0xff, 0x41]))
  await expectOnlyOffenderClosed(t, o, /\[error\] .* close: .*\(ERR_AMF_DECODE\)/)
})

t.test('a chunk stream id of 64 (>= max_streams, default 64)', async (t) => {
  const o = await connectedClient(t)
  // RTMP 5.3.1.1: basic header 00 00 is the 2-byte form, csid = 64 + 0; then a valid fmt 0
  // header and body: an AMF0 command `createStream` that would otherwise be answered
  const body = encodeAmf0('createStream', 2, null)
  const header = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, body.length, MSG_COMMAND_AMF0, 0x00, 0x00, 0x00, 0x00])
  o.client.socket.write(Buffer.concat([header, body]))
  await expectOnlyOffenderClosed(t, o, /\[error\] .* close: .*chunk stream id 64\b.*\(ERR_RTMP_CHUNK\)/)
  t.notOk(o.client.messages.some((m) => m.values?.[0] === '_result' && m.values?.[1] === 2), 'the command on csid 64 was not answered')
})

t.test('none of the bad input reached an internal error', async (t) => {
  t.notMatch(edge.log(), /\[(alert|crit|emerg)\]|internal error/, 'no [alert], [crit] or internal error lines')
})
