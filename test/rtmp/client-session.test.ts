// RtmpClientSession on 127.0.0.1 (pingos-behaviour.md §2.3):
//   (a) against a scripted origin built from edge's own server-side codecs (ServerHandshake,
//       ChunkReader): the exact commands and AMF values the client sends, status delivery,
//       pings, acknowledgements, media, and every way the session can end;
//   (b) against Debian's nginx-rtmp fed by ffmpeg: the client plays a real stream, and nginx's
//       own log shows the connect values we sent.
import { EventEmitter, once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { decodeAmf0All, encodeAmf0, type AmfObject, type AmfValue } from '../../lib/amf/amf0.js'
import { inspectVideo } from '../../lib/media/codec.js'
import type { MediaMessage } from '../../lib/media/message.js'
import { ChunkReader, type ChunkMessage } from '../../lib/rtmp/chunk-reader.js'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'
import {
  RtmpClientSession, RtmpClientState, type RtmpClientOptions, type RtmpStatusInfo,
} from '../../lib/rtmp/client-session.js'
import {
  commandMessage, connectResultMessage, resultMessage, setChunkSizeMessage, setPeerBandwidthMessage,
  statusMessage, userControlMessage, windowAckSizeMessage,
} from '../../lib/rtmp/commands.js'
import {
  MSG_ACK, MSG_AGGREGATE, MSG_AUDIO, MSG_COMMAND_AMF0, MSG_DATA_AMF0, MSG_DATA_AMF3, MSG_SET_CHUNK_SIZE,
  MSG_USER_CONTROL, MSG_VIDEO, MSG_WINDOW_ACK_SIZE, UC_PING_REQUEST, UC_PING_RESPONSE, UC_SET_BUFFER_LENGTH,
} from '../../lib/rtmp/constants.js'
import { ServerHandshake, ServerHandshakeState } from '../../lib/rtmp/handshake.js'
import { freePort, publish, unacceptingMissing, unacceptingPort } from '../helpers/node.js'
import { nginxRtmpMissing, startNginxRtmp } from '../helpers/nginx-rtmp.js'
import { quietFor } from '../helpers/pull-scenarios.js'
import { until } from '../helpers/unit.js'

/** bound on every wait for the peer */
const WAIT_MS = 5000
const FFMPEG = '/usr/bin/ffmpeg'
/** the chunk size the scripted origin announces and writes with */
const ORIGIN_CHUNK_SIZE = 4096

const OPTIONS: RtmpClientOptions = {
  action: 'play',
  host: '127.0.0.1',
  port: 0,
  app: 'live?k=v',
  tcUrl: 'rtmp://core.example.com/live',
  // long enough that connect needs more than one 128-byte chunk: the origin can only read it
  // if our Set Chunk Size went out first and we then wrote with that size
  pageUrl: 'http://player.example.com/watch/a-page-with-a-rather-long-address?channel=cam1&quality=high&autoplay=1',
  swfUrl: '',
  flashVer: 'LNX 9,0,124,2',
  audioCodecs: 3575,
  videoCodecs: 252,
  streamName: 'cam1?tok=abc',
  relayBufferMs: 5000,
  chunkSize: 4096,
  ackWindow: 5_000_000,
  maxMessageBytes: 1024 * 1024,
  // PingOS's defaults: connect_timeout 3s, rtmp server `timeout` 60s
  connectTimeoutMs: 3000,
  readTimeoutMs: 60_000,
}

// ---- the scripted origin -------------------------------------------------------------------

interface Received extends ChunkMessage {
  /** AMF0 values of command and data messages */
  readonly values: AmfValue[] | null
}

/** One connection to the origin, as the script sees it. */
class OriginConn {
  readonly messages: Received[] = []
  bytesWritten = 0
  closed = false

  constructor(readonly socket: Socket, private readonly ee: EventEmitter) {}

  write(b: Buffer): void {
    this.bytesWritten += b.length
    this.socket.write(b)
  }

  record(m: ChunkMessage): Received {
    const amf = m.typeId === MSG_COMMAND_AMF0 || m.typeId === MSG_DATA_AMF0
    // copy: the test keeps messages after the socket buffer is reused
    const r = { ...m, payload: Buffer.from(m.payload), values: amf ? decodeAmf0All(m.payload) : null }
    this.messages.push(r)
    this.ee.emit('change')
    return r
  }

  /** what nginx-rtmp answers to connect (§7.1) */
  acceptConnect(txn: number, ackWindow = 5_000_000): void {
    this.write(windowAckSizeMessage(ackWindow))
    this.write(setPeerBandwidthMessage(ackWindow))
    this.write(setChunkSizeMessage(ORIGIN_CHUNK_SIZE))
    this.write(connectResultMessage(ORIGIN_CHUNK_SIZE, txn, 0))
  }

  status(level: 'status' | 'error', code: string, description: string): void {
    this.write(statusMessage(ORIGIN_CHUNK_SIZE, level, code, description))
  }

  media(csid: number, typeId: number, timestamp: number, payload: Buffer): void {
    this.write(encodeChunks(csid, typeId, 1, timestamp, payload, ORIGIN_CHUNK_SIZE))
  }
}

type Script = (conn: OriginConn, m: Received) => void

interface Origin {
  readonly port: number
  readonly ee: EventEmitter
  readonly conns: OriginConn[]
}

/**
 * A node:net origin: ServerHandshake, then a ChunkReader; every message is recorded and handed
 * to `script`. `onChallenge`, when given, replaces the handshake answer (for broken origins).
 */
async function startOrigin(t: Test, script: Script, onChallenge?: (conn: OriginConn, c0c1: Buffer) => void): Promise<Origin> {
  const ee = new EventEmitter()
  const conns: OriginConn[] = []
  const server = createServer((socket) => {
    socket.setNoDelay(true)
    const conn = new OriginConn(socket, ee)
    conns.push(conn)
    const hs = new ServerHandshake()
    const reader = new ChunkReader({
      maxMessageBytes: 16 * 1024 * 1024, maxStreams: 65600, extendedOnType3: true,
      onMessage: (m) => script(conn, conn.record(m)),
    })
    socket.on('data', (d: Buffer) => {
      if (onChallenge !== undefined) {
        onChallenge(conn, d)
        return
      }
      if (hs.state !== ServerHandshakeState.DONE) {
        hs.push(d)
        for (const b of hs.takeOutput()) conn.write(b)
        if ((hs.state as ServerHandshakeState) !== ServerHandshakeState.DONE) return
        d = hs.leftover()
      }
      reader.push(d)
    })
    socket.on('error', () => { /* the client destroys its end; 'close' below records it */ })
    socket.on('close', () => {
      conn.closed = true
      ee.emit('change')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening', { signal: AbortSignal.timeout(WAIT_MS) })
  t.teardown(() => {
    for (const c of conns) c.socket.destroy()
    server.close()
  })
  return { port: (server.address() as AddressInfo).port, ee, conns }
}

/** The usual origin: accepts connect, answers createStream with stream id 7 (ignored by the client). */
function command(m: Received): { name: string, txn: number } | null {
  if (m.typeId !== MSG_COMMAND_AMF0 || m.values === null) return null
  return { name: m.values[0] as string, txn: m.values[1] as number }
}

function standardScript(onPlay: (conn: OriginConn) => void): Script {
  return (conn, m) => {
    const cmd = command(m)
    if (cmd?.name === 'connect') conn.acceptConnect(cmd.txn)
    else if (cmd?.name === 'createStream') conn.write(resultMessage(ORIGIN_CHUNK_SIZE, cmd.txn, null, 7))
    else if (cmd?.name === 'play') onPlay(conn)
  }
}

// ---- the client side -----------------------------------------------------------------------

interface Client {
  readonly session: RtmpClientSession
  readonly ee: EventEmitter
  readonly media: MediaMessage[]
  readonly statuses: RtmpStatusInfo[]
  readonly closes: string[]
  /** order of handler calls: 'playing', 'status:<code>', 'media:<type>', 'close' */
  readonly calls: string[]
}

function startClient(t: Test, opts: RtmpClientOptions): Client {
  const ee = new EventEmitter()
  const c: Client = {
    ee, media: [], statuses: [], closes: [], calls: [],
    session: new RtmpClientSession(opts, {
      onStarted: () => { c.calls.push('playing'); ee.emit('change') },
      onMedia: (m) => {
        // copy: payloads may be views of socket buffers
        c.media.push({ ...m, payload: Buffer.from(m.payload) })
        c.calls.push(`media:${m.typeId}`)
        ee.emit('change')
      },
      onStatus: (s) => { c.statuses.push(s); c.calls.push(`status:${s.code}`); ee.emit('change') },
      onClose: (reason) => { c.closes.push(reason); c.calls.push('close'); ee.emit('change') },
    }),
  }
  t.teardown(() => c.session.close('test teardown'))
  c.session.start()
  return c
}

/** A merged emitter, so that one wait can watch both ends. */
function both(origin: Origin, client: Client): EventEmitter {
  const ee = new EventEmitter()
  const fwd = (): boolean => ee.emit('change')
  origin.ee.on('change', fwd)
  client.ee.on('change', fwd)
  return ee
}

// ---- (a) scripted origin -------------------------------------------------------------------

t.test('the exact command sequence and AMF values of §2.3, then media', async (t) => {
  const AUDIO_BEFORE_START = Buffer.from('af01dead', 'hex')
  const AUDIO = Buffer.from('af0121100560', 'hex')
  // large enough to need several 4096-byte chunks
  const VIDEO = Buffer.concat([Buffer.from('1701000000', 'hex'), Buffer.alloc(10_000, 0x42)])
  const META = encodeAmf0('onMetaData', { width: 320, height: 240 })
  const origin = await startOrigin(t, standardScript((conn) => {
    // media before Play.Start is not the leg's yet (§2.3 step 6)
    conn.media(6, MSG_AUDIO, 0, AUDIO_BEFORE_START)
    conn.status('status', 'NetStream.Play.Reset', 'Playing and resetting cam1.')
    conn.status('status', 'NetStream.Play.Start', 'Start live')
    conn.media(5, MSG_DATA_AMF0, 0, META)
    conn.media(5, MSG_DATA_AMF3, 0, Buffer.concat([Buffer.from([0]), META]))
    conn.media(6, MSG_AUDIO, 40, AUDIO)
    conn.media(7, MSG_VIDEO, 40, VIDEO)
  }))
  const client = startClient(t, { ...OPTIONS, port: origin.port })
  await until(client.ee, () => client.media.length >= 4 || client.closes.length > 0, 'four media messages')

  const conn = origin.conns[0]
  const seen = conn.messages.map((m) => [m.csid, m.typeId, m.streamId])
  t.same(seen, [
    [2, MSG_SET_CHUNK_SIZE, 0],
    [2, MSG_WINDOW_ACK_SIZE, 0],
    [3, MSG_COMMAND_AMF0, 0], // connect
    [3, MSG_COMMAND_AMF0, 0], // createStream
    [5, MSG_COMMAND_AMF0, 1], // play: chunk stream 5, message stream 1 (not the 7 the origin returned)
    [2, MSG_USER_CONTROL, 0], // SetBufferLength
  ], 'chunk stream, type and message stream of every message, in order')
  const [setChunkSize, winAck, connect, createStream, play, setBuffer] = conn.messages
  t.equal(setChunkSize.payload.readUInt32BE(0), 4096, 'Set Chunk Size = chunk_size')
  t.equal(winAck.payload.readUInt32BE(0), 5_000_000, 'Window Ack Size = ack_window')

  t.same(connect.values?.slice(0, 2), ['connect', 1], 'connect, transaction 1')
  t.equal(connect.values?.length, 3, 'connect carries only the command object')
  const obj = connect.values?.[2] as AmfObject
  t.same(Object.keys(obj), ['app', 'tcUrl', 'pageUrl', 'swfUrl', 'flashVer', 'audioCodecs', 'videoCodecs'], 'key order')
  t.same(obj, {
    app: 'live?k=v',
    tcUrl: 'rtmp://core.example.com/live',
    pageUrl: OPTIONS.pageUrl,
    swfUrl: '',
    flashVer: 'LNX 9,0,124,2',
    audioCodecs: 3575,
    videoCodecs: 252,
  }, 'connect values')
  t.ok(connect.payload.length > 128, 'connect spanned more than one 128-byte chunk')

  t.same(createStream.values, ['createStream', 2, null], 'createStream, transaction 2, null')
  t.same(play.values, ['play', 0, null, 'cam1?tok=abc', -1000, -1000], 'play(0, null, name?pargs, -1000, -1000)')
  t.same([setBuffer.payload.readUInt16BE(0), setBuffer.payload.readUInt32BE(2), setBuffer.payload.readUInt32BE(6)],
    [UC_SET_BUFFER_LENGTH, 1, 5000], 'User Control SetBufferLength(stream 1, 5000 ms)')

  t.same(client.calls.slice(0, 3), ['status:NetStream.Play.Reset', 'status:NetStream.Play.Start', 'playing'],
    'every onStatus reaches onStatus; Play.Start then makes it playing')
  t.same(client.statuses[1], { level: 'status', code: 'NetStream.Play.Start', description: 'Start live', viaError: false })
  t.same(client.media.map((m) => [m.typeId, m.timestamp]), [[18, 0], [18, 0], [8, 40], [9, 40]],
    'data, AMF3 data as 18, audio, video; the audio sent before Play.Start is not delivered')
  t.same(client.media[0].payload, META, 'AMF0 data as sent')
  t.same(client.media[1].payload, META, 'AMF3 data with its format byte stripped')
  t.same(client.media[2].payload, AUDIO)
  t.same(client.media[3].payload, VIDEO, 'a message over several chunks of the origin\'s chunk size')
  t.equal(client.session.state, RtmpClientState.PLAYING)
  t.equal(client.session.bytesIn, conn.bytesWritten, 'bytesIn counts every byte the origin wrote')
  t.same(client.closes, [], 'still open')

  client.session.close('done')
  await until(origin.ee, () => conn.closed, 'the origin to see the close')
  t.same(client.closes, ['done'], 'close(reason) → onClose(reason)')
})

t.test('onStatus errors arrive with viaError false, _error with viaError true; the session stays open', async (t) => {
  const origin = await startOrigin(t, standardScript((conn) => {
    conn.status('error', 'NetStream.Play.StreamNotFound', 'gone')
    conn.write(commandMessage(ORIGIN_CHUNK_SIZE, 3, 0, '_error', 0, null,
      { level: 'error', code: 'NetStream.Play.Failed', description: 'nope' }))
  }))
  const client = startClient(t, { ...OPTIONS, port: origin.port })
  await until(client.ee, () => client.statuses.length >= 2 || client.closes.length > 0, 'two statuses')
  t.same(client.statuses, [
    { level: 'error', code: 'NetStream.Play.StreamNotFound', description: 'gone', viaError: false },
    { level: 'error', code: 'NetStream.Play.Failed', description: 'nope', viaError: true },
  ])
  t.notOk(client.calls.includes('playing'), 'no onStarted')
  t.same(client.closes, [], 'what to do about an error is the caller\'s decision')
  t.equal(client.session.state, RtmpClientState.PLAY)
})

t.test('pings are answered; the origin\'s window is acknowledged; an aggregate is split; unknown messages are ignored', async (t) => {
  const ORIGIN_WINDOW = 2500
  const PING_TIME = 0x12345678
  // two FLV tags in one aggregate message (RTMP 7.1.6), tag times 1000 and 1040
  const tagA = Buffer.from('af01aa', 'hex')
  const tagV = Buffer.from('2701000000bb', 'hex')
  const flvTag = (type: number, time: number, body: Buffer): Buffer => {
    const h = Buffer.alloc(11)
    h[0] = type
    h.writeUIntBE(body.length, 1, 3)
    h.writeUIntBE(time & 0xffffff, 4, 3)
    h[7] = time >>> 24
    const back = Buffer.alloc(4)
    back.writeUInt32BE(body.length + 11)
    return Buffer.concat([h, body, back])
  }
  const aggregate = Buffer.concat([flvTag(MSG_AUDIO, 1000, tagA), flvTag(MSG_VIDEO, 1040, tagV)])
  const origin = await startOrigin(t, (conn, m) => {
    const cmd = command(m)
    if (cmd?.name === 'connect') conn.acceptConnect(cmd.txn, ORIGIN_WINDOW)
    else if (cmd?.name === 'createStream') conn.write(resultMessage(ORIGIN_CHUNK_SIZE, cmd.txn, null, 1))
    else if (cmd?.name === 'play') {
      // ignored, as nginx-rtmp ignores them: a message type nobody defined, a user control
      // message too short for its event
      conn.write(encodeChunks(2, 7, 0, 0, Buffer.from('00', 'hex'), ORIGIN_CHUNK_SIZE))
      conn.write(encodeChunks(2, MSG_USER_CONTROL, 0, 0, Buffer.from('0006', 'hex'), ORIGIN_CHUNK_SIZE))
      conn.write(userControlMessage(UC_PING_REQUEST, PING_TIME, ORIGIN_CHUNK_SIZE))
      conn.status('status', 'NetStream.Play.Start', 'Start live')
      conn.media(6, MSG_AGGREGATE, 500, aggregate)
      conn.media(6, MSG_AUDIO, 2000, Buffer.alloc(3000, 0xaf))
    }
  })
  const client = startClient(t, { ...OPTIONS, port: origin.port })
  const conn = (): NonNullable<Origin['conns'][0]> => origin.conns[0]
  const ee = both(origin, client)
  const isAck = (m: Received): boolean => m.typeId === MSG_ACK
  const isPong = (m: Received): boolean => m.typeId === MSG_USER_CONTROL && m.payload.readUInt16BE(0) === UC_PING_RESPONSE
  await until(ee, () => (origin.conns.length > 0 && conn().messages.some(isAck) && conn().messages.some(isPong)) ||
    client.closes.length > 0, 'an acknowledgement and a ping response')

  const pong = conn().messages.find(isPong)
  t.equal(pong?.payload.readUInt32BE(2), PING_TIME, 'a PingResponse with the timestamp of the request')
  const acks = conn().messages.filter(isAck).map((m) => m.payload.readUInt32BE(0))
  // the origin's S0 S1 S2 are not counted (nginx-rtmp's in_bytes starts after the handshake)
  const chunkBytes = conn().bytesWritten - 3073
  t.equal(acks.length, 1, 'one window crossed so far')
  t.ok(acks[0] >= ORIGIN_WINDOW && acks[0] <= chunkBytes, `acknowledged ${acks[0]} of ${chunkBytes} bytes (window ${ORIGIN_WINDOW})`)

  await until(client.ee, () => client.media.length >= 3, 'three media messages')
  t.same(client.media.map((m) => [m.typeId, m.timestamp, m.payload.toString('hex').slice(0, 12)]), [
    [MSG_AUDIO, 500, 'af01aa'],
    [MSG_VIDEO, 540, '2701000000bb'],
    [MSG_AUDIO, 2000, 'afafafafafaf'],
  ], 'aggregate parts take the aggregate\'s time plus their offset from the first part')
})

t.test('the origin closing in the middle of the handshake: onClose once', async (t) => {
  const origin = await startOrigin(t, () => {}, (conn, c0c1) => {
    t.equal(c0c1[0], 3, 'C0 is version 3')
    // S0 and a third of S1, then gone
    conn.socket.end(Buffer.concat([Buffer.from([3]), Buffer.alloc(512)]))
  })
  const client = startClient(t, { ...OPTIONS, port: origin.port })
  await until(client.ee, () => client.closes.length > 0, 'onClose')
  t.match(client.closes[0], /origin closed the connection in state handshake/)
  client.session.close('again')
  t.equal(client.closes.length, 1, 'onClose exactly once, even when close() is called after it')
  t.equal(client.session.state, RtmpClientState.CLOSED)
})

t.test('a bad S0 is a protocol error: onClose with its code, socket destroyed', async (t) => {
  const origin = await startOrigin(t, () => {}, (conn) => { conn.write(Buffer.from([6])) })
  const client = startClient(t, { ...OPTIONS, port: origin.port })
  await until(both(origin, client), () => client.closes.length > 0 && origin.conns[0]?.closed === true, 'close on both ends')
  t.same(client.closes, ['handshake: unexpected RTMP version: 6 (ERR_RTMP_HANDSHAKE)'])
})

t.test('a message over maxMessageBytes ends the session', async (t) => {
  const origin = await startOrigin(t, standardScript((conn) => {
    conn.status('status', 'NetStream.Play.Start', 'Start live')
    conn.media(7, MSG_VIDEO, 0, Buffer.alloc(2048))
  }))
  const client = startClient(t, { ...OPTIONS, port: origin.port, maxMessageBytes: 1024 })
  await until(both(origin, client), () => client.closes.length > 0 && origin.conns[0]?.closed === true, 'close on both ends')
  t.same(client.closes, ['too big message: 2048 > max_message 1024 (ERR_RTMP_MESSAGE)'])
  t.same(client.media, [], 'nothing delivered')
})

t.test("connection refused: onClose once with the failed call in nginx's words", async (t) => {
  const port = await freePort() // nothing listens there now
  const client = startClient(t, { ...OPTIONS, port })
  await until(client.ee, () => client.closes.length > 0, 'onClose')
  t.same(client.closes, [`connect() to 127.0.0.1:${port} failed (111: Connection refused)`])
  t.equal(client.closes.length, 1)
})

// ---- bounded waits (issue 9) ---------------------------------------------------------------

/** a read timeout short enough for unit tests */
const READ_TIMEOUT_MS = 300
/** how late a timer may fire on a loaded machine */
const TIMER_LATE_MS = 500

/** Runs `client` until it closes; returns how long after `since()` it closed. */
async function closedAfter(client: Client, since: () => number): Promise<number> {
  await until(client.ee, () => client.closes.length > 0, 'onClose', READ_TIMEOUT_MS + WAIT_MS)
  return Date.now() - since()
}

t.test('an origin silent in any state is dropped readTimeoutMs after its last byte', async (t) => {
  const silentIn: [string, Script][] = [
    ['connect', () => {}],
    ['createStream', (conn, m) => { if (command(m)?.name === 'connect') conn.acceptConnect(command(m)?.txn ?? 1) }],
    ['play', (conn, m) => {
      const cmd = command(m)
      if (cmd?.name === 'connect') conn.acceptConnect(cmd.txn)
      else if (cmd?.name === 'createStream') conn.write(resultMessage(ORIGIN_CHUNK_SIZE, cmd.txn, null, 1))
    }],
  ]
  for (const [state, script] of silentIn) {
    // the origin's last bytes are its answer to the last message it got (the handshake's to C0 C1)
    let lastWriteAt = Date.now()
    const origin = await startOrigin(t, (conn, m) => {
      lastWriteAt = Date.now()
      script(conn, m)
    })
    const client = startClient(t, { ...OPTIONS, port: origin.port, readTimeoutMs: READ_TIMEOUT_MS })
    const after = await closedAfter(client, () => lastWriteAt)
    t.same(client.closes, [`origin sent nothing for ${READ_TIMEOUT_MS} ms in state ${state}`], `silent in state ${state}: onClose`)
    t.ok(after >= READ_TIMEOUT_MS - 50 && after <= READ_TIMEOUT_MS + TIMER_LATE_MS, `closed ${after} ms after the origin's last message`)
    await until(origin.ee, () => origin.conns[0].closed, 'the origin to see the close')
  }
})

t.test('an origin that accepts TCP and never answers C0 C1 is dropped readTimeoutMs after the connect', async (t) => {
  let c0c1At = 0
  const origin = await startOrigin(t, () => {}, () => { c0c1At = Date.now() })
  const client = startClient(t, { ...OPTIONS, port: origin.port, readTimeoutMs: READ_TIMEOUT_MS })
  const after = await closedAfter(client, () => c0c1At)
  t.same(client.closes, [`origin sent nothing for ${READ_TIMEOUT_MS} ms in state handshake`])
  t.ok(after >= READ_TIMEOUT_MS - 50 && after <= READ_TIMEOUT_MS + TIMER_LATE_MS, `closed ${after} ms after C0 C1 reached the origin`)
})

t.test('while playing, every read restarts the read timeout; silence then ends the session', async (t) => {
  const MEDIA_EVERY_MS = READ_TIMEOUT_MS / 3
  const MEDIA_FOR_MS = 3 * READ_TIMEOUT_MS
  let lastMediaAt = 0
  const origin = await startOrigin(t, standardScript((conn) => {
    conn.status('status', 'NetStream.Play.Start', 'Start live')
    const started = Date.now()
    const timer = setInterval(() => {
      if (Date.now() - started > MEDIA_FOR_MS || conn.socket.destroyed) {
        clearInterval(timer)
        return
      }
      conn.media(6, MSG_AUDIO, Date.now() - started, Buffer.from('af01', 'hex'))
      lastMediaAt = Date.now()
    }, MEDIA_EVERY_MS)
  }))
  const client = startClient(t, { ...OPTIONS, port: origin.port, readTimeoutMs: READ_TIMEOUT_MS })
  const after = await closedAfter(client, () => lastMediaAt)
  t.ok(client.media.length >= MEDIA_FOR_MS / MEDIA_EVERY_MS - 2, `${client.media.length} media messages over ${MEDIA_FOR_MS} ms (> the timeout) kept it open`)
  t.same(client.closes, [`origin sent nothing for ${READ_TIMEOUT_MS} ms in state playing`])
  t.ok(after >= READ_TIMEOUT_MS - 50 && after <= READ_TIMEOUT_MS + TIMER_LATE_MS, `closed ${after} ms after the last media`)
})

t.test('readTimeoutMs 0: no read bound', async (t) => {
  const origin = await startOrigin(t, () => {})
  const client = startClient(t, { ...OPTIONS, port: origin.port, readTimeoutMs: 0 })
  await until(origin.ee, () => origin.conns[0]?.messages.length > 0, 'connect')
  t.ok(await quietFor(client.ee, 'change', 2 * READ_TIMEOUT_MS), `nothing happened for ${2 * READ_TIMEOUT_MS} ms`)
  t.same(client.closes, [], 'still open')
  t.equal(client.session.state, RtmpClientState.CONNECT)
})

t.test('a TCP connect that never completes ends after connectTimeoutMs', { skip: unacceptingMissing() }, async (t) => {
  const port = await unacceptingPort(t)
  const startedAt = Date.now()
  const client = startClient(t, { ...OPTIONS, port, connectTimeoutMs: READ_TIMEOUT_MS })
  const after = await closedAfter(client, () => startedAt)
  t.same(client.closes, [`origin did not accept the connection within ${READ_TIMEOUT_MS} ms`])
  t.ok(after >= READ_TIMEOUT_MS && after <= READ_TIMEOUT_MS + TIMER_LATE_MS, `closed ${after} ms after start()`)
})

t.test('close() before any reply, and close() from inside a handler', async (t) => {
  const idle = new RtmpClientSession({ ...OPTIONS, port: 1 }, {
    onStarted: () => {}, onMedia: () => {}, onStatus: () => {},
    onClose: (reason) => { t.equal(reason, 'never started', 'close() without start()') },
  })
  idle.close('never started')
  idle.close('twice')
  t.throws(() => idle.start(), /start\(\) in state closed/)

  const origin = await startOrigin(t, standardScript((conn) => {
    conn.status('status', 'NetStream.Play.Start', 'Start live')
    conn.media(6, MSG_AUDIO, 0, Buffer.from('af01', 'hex'))
    conn.media(6, MSG_AUDIO, 20, Buffer.from('af01', 'hex'))
  }))
  const closes: string[] = []
  const media: MediaMessage[] = []
  const ee = new EventEmitter()
  const session = new RtmpClientSession({ ...OPTIONS, port: origin.port }, {
    onStarted: () => {},
    onMedia: (m) => { media.push(m); session.close('enough') },
    onStatus: () => {},
    onClose: (reason) => { closes.push(reason); ee.emit('change') },
  })
  t.teardown(() => session.close('teardown'))
  session.start()
  await until(ee, () => closes.length > 0, 'onClose')
  t.same(closes, ['enough'])
  t.equal(media.length, 1, 'no message delivered after close(), even from bytes already read')
})

// ---- (b) interop: Debian nginx-rtmp as the origin ------------------------------------------

t.test('pulls a live stream from nginx-rtmp fed by ffmpeg', { skip: nginxRtmpMissing() || (existsSync(FFMPEG) ? false : `not installed: ${FFMPEG}`) }, async (t) => {
  const nginx = await startNginxRtmp(t)
  const publisher = publish(`rtmp://127.0.0.1:${nginx.port}/live/s1`)
  t.teardown(() => publisher.stop())

  const client = startClient(t, {
    ...OPTIONS,
    port: nginx.port,
    app: 'live?k=v',
    tcUrl: 'rtmp://example.test/live',
    pageUrl: '',
    streamName: 's1?tok=abc',
  })
  await until(client.ee, () => client.calls.includes('playing') || client.closes.length > 0, 'NetStream.Play.Start', WAIT_MS)
  t.ok(client.calls.includes('playing'), 'onStarted')
  const avcHeader = (m: MediaMessage): boolean => {
    if (m.typeId !== MSG_VIDEO) return false
    const v = inspectVideo(m.payload)
    return v !== null && v.codec === 'avc' && v.sequenceHeader
  }
  await until(client.ee, () => (client.media.some(avcHeader) && client.media.some((m) => m.typeId === MSG_AUDIO) &&
    client.media.some((m) => m.typeId === MSG_VIDEO && !avcHeader(m))) || client.closes.length > 0, 'audio, video and an AVC sequence header')
  t.same(client.closes, [], 'still playing')
  t.ok(client.media.some(avcHeader), 'an AVC sequence header')
  t.ok(client.media.some((m) => m.typeId === MSG_AUDIO), 'audio')
  t.ok(client.media.some((m) => m.typeId === MSG_VIDEO && !avcHeader(m)), 'video frames')
  t.ok(client.calls.indexOf('playing') < client.calls.findIndex((c) => c.startsWith('media:')), 'media only after onStarted')

  // nginx-rtmp splits "?args" off the connect app and the play name
  const log = nginx.errorLog()
  t.match(log, /connect: app='live' args='k=v' flashver='LNX 9,0,124,2' swf_url='' tc_url='rtmp:\/\/example\.test\/live' page_url='' acodecs=3575 vcodecs=252 object_encoding=0/,
    'nginx logged our connect values')
  t.match(log, /play: name='s1' args='tok=abc' start=-1000 duration=-1000/, 'nginx logged our play')
  t.notMatch(log, /\[(error|crit|alert)\]/, 'no errors in nginx\'s log')
})
