// RTMP protocol behaviour a client observes (issue 3, spec §7.1–7.3, §8.6–8.7, observed §1.2,
// §13 scenarios 3, 4, 6 and 7), against a real edge process. The RTMP side is the scripted
// test client (message order and status objects), ffmpeg is the real publisher, and HTTP-FLV
// players are a raw-socket client. Interop itself is proven by rtmp-play and http-flv tests.
import t, { type Test } from 'tap'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'
import {
  MSG_COMMAND_AMF0, MSG_SET_CHUNK_SIZE, MSG_SET_PEER_BANDWIDTH, MSG_WINDOW_ACK_SIZE,
} from '../../lib/rtmp/constants.js'
import { errorPage } from '../helpers/expected.js'
import { publish, startLiveEdge } from '../helpers/node.js'
import { RawHttpClient } from '../helpers/raw-http.js'
import { RtmpTestClient, type Received } from '../helpers/rtmp-client.js'

/** bound on one exchange with the node */
const REPLY_WAIT_MS = 5000
/** bound on waiting for the publisher's media to reach a player */
const MEDIA_WAIT_MS = 10_000
/** scenario 6: `timeout` of the RTMP server, and the window the 503 must fall in */
const TIMEOUT_MS = 2000
const TIMEOUT_EARLY_MS = 1900
const TIMEOUT_LATE_MS = 4000
/** scenario 7: how much more media the players must get while the second publisher is on */
const KEEP_RECEIVING_MS = 1000
/** bytes no real media contains: what the refused or higher-priority publisher sends */
const MARKER = Buffer.from('edge-test-second-publisher-marker', 'latin1')
/** chunk streams nginx-rtmp uses for audio and video */
const CSID_AUDIO = 6
const CSID_VIDEO = 7

async function rtmpClient(t: Test, port: number): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.open(port)
  t.teardown(() => c.close())
  return c
}

async function httpClient(t: Test, port: number, target: string): Promise<RawHttpClient> {
  const c = await RawHttpClient.request(port, target)
  t.teardown(() => c.close())
  return c
}

async function connected(t: Test, port: number): Promise<RtmpTestClient> {
  const c = await rtmpClient(t, port)
  const r = await c.connectApp('live', {}, port)
  t.equal(r.values?.[0], '_result', 'connected to app live')
  return c
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n, 0)
  return b
}

const commands = (list: readonly Received[]): Received[] => list.filter((m) => m.typeId === MSG_COMMAND_AMF0)

/** The info object of an onStatus message with its keys in wire order. */
function statusInfo(m: Received | undefined): [string[], unknown] {
  const info = m?.values?.[3] as Record<string, unknown> | undefined
  return [info === undefined ? [] : Object.keys(info), info]
}

/** A status reply is onStatus(0, null, {level, code, description}), keys in that order (§7.3). */
function checkStatus(t: Test, m: Received | undefined, level: string, code: string, description: string): void {
  t.equal(m?.values?.[0], 'onStatus', `${code}: an onStatus command`)
  t.equal(m?.values?.[1], 0, 'transaction 0')
  t.equal(m?.values?.[2], null, 'null command object')
  const [keys, info] = statusInfo(m)
  t.same(keys, ['level', 'code', 'description'], 'info keys level, code, description in that order')
  t.same(info, { level, code, description }, `{level "${level}", code "${code}", description "${description}"}`)
}

t.test('scenario 3: connect reply, createStream, releaseStream and FCPublish unanswered', async (t) => {
  const { rtmpPort } = await startLiveEdge(t)
  const c = await rtmpClient(t, rtmpPort)
  c.command(0, 'connect', 1, { app: 'live', flashVer: 'LNX 9,0,124,2', tcUrl: `rtmp://127.0.0.1:${rtmpPort}/live`, objectEncoding: 0 })
  await c.next((m) => m.values?.[0] === '_result' || m.values?.[0] === '_error', REPLY_WAIT_MS)

  const [ack, bw, chunk, result] = c.messages
  t.same(c.messages.slice(0, 4).map((m) => m.typeId), [MSG_WINDOW_ACK_SIZE, MSG_SET_PEER_BANDWIDTH, MSG_SET_CHUNK_SIZE, MSG_COMMAND_AMF0],
    'Window Ack Size, Set Peer Bandwidth, Set Chunk Size, then the command reply')
  t.same(ack.payload, u32(5_000_000), 'Window Acknowledgement Size 5000000')
  t.same(bw.payload, Buffer.concat([u32(5_000_000), Buffer.from([2])]), 'Set Peer Bandwidth 5000000, limit type 2 (dynamic)')
  t.same(chunk.payload, u32(4096), 'Set Chunk Size 4096')
  t.equal(result.csid, 3, '_result on chunk stream 3')
  t.equal(result.streamId, 0, 'on message stream 0')
  const [name, txn, props, info] = result.values ?? []
  t.equal(name, '_result', '_result')
  t.equal(txn, 1, 'transaction id echoed')
  t.same(props, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, 'properties {fmsVer "FMS/3,0,1,123", capabilities 31}')
  t.same(Object.keys(info as object), ['level', 'code', 'description', 'objectEncoding'], 'info keys in PingOS order')
  t.same(info, { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding: 0 },
    'info {level "status", code "NetConnection.Connect.Success", description "Connection succeeded.", objectEncoding 0}')

  // what ffmpeg sends before publishing; PingOS answers neither (§7.1)
  const from = c.messages.length
  c.command(0, 'releaseStream', 2, null, 's1')
  c.command(0, 'FCPublish', 3, null, 's1')
  c.command(0, 'createStream', 4, null)
  const created = await c.next((m) => m.values?.[0] === '_result' && m.values?.[1] === 4, REPLY_WAIT_MS, from)
  t.same(created.values, ['_result', 4, null, 1], 'createStream → _result(4, null, 1)')
  t.equal(created.csid, 3, 'on chunk stream 3')
  t.same(commands(c.messages.slice(from)).map((m) => m.values?.slice(0, 2)), [['_result', 4]],
    'the createStream _result is the only reply: nothing for releaseStream (2) or FCPublish (3)')
})

t.test('scenario 4: unknown application', async (t) => {
  const { rtmpPort, httpPort } = await startLiveEdge(t)

  t.test('RTMP connect to app foo: TCP closed, no _error', async (t) => {
    const c = await rtmpClient(t, rtmpPort)
    c.command(0, 'connect', 1, { app: 'foo', flashVer: 'LNX 9,0,124,2', tcUrl: `rtmp://127.0.0.1:${rtmpPort}/foo`, objectEncoding: 0 })
    await c.until(() => c.closed, REPLY_WAIT_MS, 'the server to close the connection')
    t.same(commands(c.messages).map((m) => m.values?.[0]), [], 'no _error, no _result, no command at all')
  })

  t.test('GET /flv/x?app=foo → 404', async (t) => {
    const c = await httpClient(t, httpPort, '/flv/x?app=foo')
    await c.waitHead(REPLY_WAIT_MS)
    t.equal(c.statusLine, 'HTTP/1.1 404 Not Found', 'status line 404 Not Found')
  })
})

t.test('scenario 6: idle_streams off, a missing stream is refused', async (t) => {
  const { rtmpPort, httpPort } = await startLiveEdge(t, { app: 'idle_streams off;' })

  t.test('RTMP play → StreamNotFound, then closed', async (t) => {
    const c = await connected(t, rtmpPort)
    const status = await c.play('nosuch')
    checkStatus(t, status, 'error', 'NetStream.Play.StreamNotFound', 'No such stream')
    await c.until(() => c.closed, REPLY_WAIT_MS, 'the server to close the connection')
    t.ok(c.closed, 'connection closed by the server')
    t.notOk(c.messages.some((m) => RtmpTestClient.code(m) === 'NetStream.Play.Start'), 'no Play.Start')
  })

  t.test('HTTP-FLV → 404', async (t) => {
    const c = await httpClient(t, httpPort, '/flv/nosuch?app=live')
    await c.waitHead(REPLY_WAIT_MS)
    t.equal(c.statusLine, 'HTTP/1.1 404 Not Found', 'status line 404 Not Found')
  })
})

t.test('scenario 6: idle_streams on, a missing stream waits; HTTP-FLV gets 503 after timeout', async (t) => {
  const { rtmpPort, httpPort } = await startLiveEdge(t, { server: `timeout ${TIMEOUT_MS}ms;` })
  const player = await connected(t, rtmpPort)
  const status = await player.play('nosuch')
  checkStatus(t, status, 'status', 'NetStream.Play.Start', 'Start live')

  const c = await httpClient(t, httpPort, '/flv/nosuch?app=live')
  await c.waitHead(TIMEOUT_LATE_MS + REPLY_WAIT_MS)
  const firstByteMs = c.firstByteMs ?? NaN
  t.ok(firstByteMs >= TIMEOUT_EARLY_MS && firstByteMs < TIMEOUT_LATE_MS,
    `no byte until the ${TIMEOUT_MS} ms timeout (first byte at ${firstByteMs.toFixed(0)} ms)`)
  t.equal(c.statusLine, 'HTTP/1.1 503 Service Temporarily Unavailable', 'then 503')
  t.equal(c.header('Connection'), 'keep-alive', 'Connection: keep-alive (observed §1.2)')
  t.equal(c.header('Cache-Control'), 'no-cache', 'Cache-Control: no-cache')
  t.equal(c.header('Access-Control-Allow-Origin'), '*', 'Access-Control-Allow-Origin: *')
  await c.until(() => c.body.length >= Number(c.header('Content-Length')) || c.closed, REPLY_WAIT_MS, 'the error page')
  t.equal(c.body.toString('latin1'), errorPage('503 Service Temporarily Unavailable'), 'nginx error page')

  // the RTMP player has now been waiting longer than `timeout` too
  t.notOk(player.closed, 'the RTMP player is still connected')
  t.same(commands(player.messages).filter((m) => m.values?.[0] === 'onStatus').map(RtmpTestClient.code), ['NetStream.Play.Start'],
    'and got no other status')
})

/** Frames of a publisher that is not ffmpeg: an AAC raw frame and an AVC inter frame with MARKER in them. */
function sendMarkedMedia(c: RtmpTestClient, timestamp: number): void {
  c.send(CSID_AUDIO, MSG_AUDIO, 1, timestamp, Buffer.concat([Buffer.from([0xaf, 0x01]), MARKER]))
  c.send(CSID_VIDEO, MSG_VIDEO, 1, timestamp, Buffer.concat([Buffer.from([0x27, 0x01, 0, 0, 0]), MARKER]))
}

/** The newest media timestamp an HTTP-FLV player has. */
const newestMs = (c: RawHttpClient): number => c.tags.reduce((max, x) => (x.typeId === MSG_AUDIO || x.typeId === MSG_VIDEO ? Math.max(max, x.timestamp) : max), 0)
const hasMarker = (c: RawHttpClient): boolean => c.tags.some((x) => x.payload.includes(MARKER))

t.test('scenario 7: a duplicate publisher gets BadName, stays connected, and is not played', async (t) => {
  const { rtmpPort, httpPort } = await startLiveEdge(t, { app: 'cache_time 1s; send_all on;' })
  const pub = publish(`rtmp://127.0.0.1:${rtmpPort}/live/s1`)
  t.teardown(() => pub.stop())
  const player = await httpClient(t, httpPort, '/flv/s1?app=live')
  await player.until(() => newestMs(player) > 0 || player.closed, MEDIA_WAIT_MS, 'media from ffmpeg')

  const second = await connected(t, rtmpPort)
  const status = await second.publish('s1')
  checkStatus(t, status, 'error', 'NetStream.Publish.BadName', 'Already publishing')
  const at = newestMs(player)
  sendMarkedMedia(second, at)
  await player.until(() => newestMs(player) >= at + KEEP_RECEIVING_MS || player.closed, MEDIA_WAIT_MS,
    `${KEEP_RECEIVING_MS} ms more media`)

  t.ok(newestMs(player) >= at + KEEP_RECEIVING_MS, 'the player kept receiving the first publisher')
  t.notOk(hasMarker(player), 'nothing the second publisher sent reached the player')
  t.notOk(second.closed, 'the second publisher is still connected')
  t.notOk(second.messages.some((m) => RtmpTestClient.code(m) === 'NetStream.Publish.Start'), 'and never got Publish.Start')
})

t.test('scenario 7: with cache_time 0, s1?pubpri=1 is accepted and played', async (t) => {
  const { rtmpPort, httpPort } = await startLiveEdge(t, { app: 'cache_time 0;' })
  const pub = publish(`rtmp://127.0.0.1:${rtmpPort}/live/s1`)
  t.teardown(() => pub.stop())
  const player = await httpClient(t, httpPort, '/flv/s1?app=live')
  await player.until(() => player.tags.some((x) => x.typeId === MSG_AUDIO) || player.closed, MEDIA_WAIT_MS, 'audio from ffmpeg')

  const second = await connected(t, rtmpPort)
  const status = await second.publish('s1?pubpri=1')
  checkStatus(t, status, 'status', 'NetStream.Publish.Start', 'Start publishing')
  // the player's audio track has started, so the higher-priority publisher's next audio
  // frame goes straight to it (§7.2 step 5, §7.6)
  sendMarkedMedia(second, newestMs(player))
  await player.until(() => hasMarker(player) || player.closed, REPLY_WAIT_MS, 'the second publisher\'s media')
  t.ok(hasMarker(player), 'the player receives the higher-priority publisher\'s media')
})
