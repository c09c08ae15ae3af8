// Outbound RTMP client for a relay leg: one TCP connection to an origin (pull: play) or to a push
// target (push: publish), driven as PingOS's relay drives it (pingos-behaviour.md §2.3, §5.2,
// ngx_live_relay_rtmp.c). Codec, socket and one idle timer: no retries, no hub. The caller
// (lib/relay/) arms its own per-attempt deadline and calls close().
//
//   edge (this client)                                  origin
//     TCP connect ───────────────────────────────────────▶
//     C0 C1 (digest, version 0x0C000D0E) ────────────────▶       CONNECTING → HANDSHAKE
//                        ◀──────────────────────────────── S0 S1 S2
//     C2, Set Chunk Size, Window Ack Size,
//     connect(1, {app tcUrl pageUrl swfUrl flashVer
//                 audioCodecs videoCodecs}) csid 3 ──────▶       CONNECT
//                        ◀──────────────────────────────── _result(1)
//     createStream(2, null) csid 3 ──────────────────────▶       CREATE_STREAM
//                        ◀──────────────────────────────── _result(2, null, <id, ignored>)
//     play(0, null, name, -1000, -1000) csid 5 msid 1,
//     UC SetBufferLength(1, relay_buffer) ───────────────▶       PLAY
//                        ◀──────────────────────────────── onStatus NetStream.Play.Start
//     onStarted()                                                 PLAYING
//                        ◀──────────────────────────────── audio / video / data → onMedia()
//   or, for a push:
//     publish(0, null, name, "live") csid 5 msid 1 ──────▶       PUBLISH
//                        ◀──────────────────────────────── onStatus NetStream.Publish.Start
//     onStarted()                                                 PUBLISHING
//     send(chunks of the local stream) ──────────────────▶
//
// Throughout: ping requests are answered, Acknowledgements are sent each time the origin's
// Window Ack Size is crossed, the origin's Set Chunk Size applies to what we read (ChunkReader).
// Every onStatus and _error reaches onStatus(); what to do with them is relay policy.
// Every wait for the origin is bounded (issue 9): the TCP connect by connectTimeoutMs, and from
// then on every read by readTimeoutMs, in every state, PLAYING included: an origin that sends
// nothing for that long is dropped, as one that closes is. PUBLISHING is the exception: a push
// target has nothing to say while it takes our media; the stream's output limits bound it there
// (a target that stops reading is a slow player, lib/live/stream.ts).
// Whatever ends the session (a ProtocolError, a socket error or close, close() by the caller),
// onClose(reason) is called exactly once and the socket is destroyed.
import { connect as tcpConnect, type Socket } from 'node:net'
import type { AmfObject, AmfValue } from '../amf/amf0.js'
import { syscallFailure } from '../core/errno.js'
import { EdgeError, ProtocolError } from '../core/errors.js'
import { IdleTimer } from '../core/idle-timer.js'
import { MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO, type MediaMessage } from '../media/message.js'
import { AckWindow } from './ack-window.js'
import { ChunkReader, type ChunkMessage } from './chunk-reader.js'
import {
  commandMessage, decodeCommand, setChunkSizeMessage, userControlMessage, windowAckSizeMessage,
  type Command,
} from './commands.js'
import {
  CSID_COMMAND, CSID_STATUS, MSG_AGGREGATE, MSG_COMMAND_AMF0, MSG_COMMAND_AMF3, MSG_DATA_AMF3, MSG_USER_CONTROL,
  MSG_WINDOW_ACK_SIZE, STREAM_ID, UC_PING_REQUEST, UC_PING_RESPONSE, UC_SET_BUFFER_LENGTH, UC_STREAM_BEGIN,
} from './constants.js'
import { ClientHandshake, ClientHandshakeState } from './handshake.js'

export interface RtmpClientOptions {
  /** pull: play the stream; push: publish it */
  readonly action: 'play' | 'publish'
  /** origin or push target address to connect to: an IP, or a hostname node:net resolves */
  readonly host: string
  readonly port: number
  /** connect `app`, with "?args" when the player's connect carried some */
  readonly app: string
  /** connect `tcUrl` exactly as sent: rtmp://<domain>/<app> (built by the caller) */
  readonly tcUrl: string
  readonly pageUrl: string
  readonly swfUrl: string
  readonly flashVer: string
  /** player's audioCodecs, or 3575 */
  readonly audioCodecs: number
  /** player's videoCodecs, or 252 */
  readonly videoCodecs: number
  /** play or publish name: "name" or "name?pargs" */
  readonly streamName: string
  /** relay_buffer: SetBufferLength sent right after play (not used by a publish) */
  readonly relayBufferMs: number
  /** chunk_size: our outgoing Set Chunk Size (PingOS default 4096) */
  readonly chunkSize: number
  /** ack_window: the Window Ack Size we announce */
  readonly ackWindow: number
  /** max_message: a longer message from the origin ends the session */
  readonly maxMessageBytes: number
  /** connect_timeout: the TCP connect; 0 = unbounded */
  readonly connectTimeoutMs: number
  /** the rtmp server's `timeout`: the longest the origin may send nothing, in any state; 0 = unbounded */
  readonly readTimeoutMs: number
}

export interface RtmpStatusInfo {
  readonly level: string
  readonly code: string
  readonly description: string
  /** the origin sent it as `_error` (a failed command) rather than `onStatus` */
  readonly viaError: boolean
}

export interface RtmpClientHandlers {
  /** the connection was opened (the node counts its bytes) */
  onSocket?(socket: Socket): void
  /** NetStream.Play.Start (play: media follows) or NetStream.Publish.Start (publish: send media) */
  onStarted(): void
  /** play: audio (8), video (9), data (18; AMF3 data arrives with its format byte stripped) */
  onMedia(msg: MediaMessage): void
  /** every onStatus, and every _error (viaError true) */
  onStatus(info: RtmpStatusInfo): void
  /** exactly once, whatever ended the session */
  onClose(reason: string): void
}

/** Where the session is; also names the phase in close reasons. */
export enum RtmpClientState {
  /** constructed, start() not called */
  IDLE = 'idle',
  /** waiting for the TCP connection */
  CONNECTING = 'connecting',
  /** C0C1 sent, reading S0 S1 S2 */
  HANDSHAKE = 'handshake',
  /** connect sent, waiting for _result(1) */
  CONNECT = 'connect',
  /** createStream sent, waiting for _result(2) */
  CREATE_STREAM = 'createStream',
  /** play sent, waiting for NetStream.Play.Start */
  PLAY = 'play',
  /** Play.Start received: media is delivered */
  PLAYING = 'playing',
  /** publish sent, waiting for NetStream.Publish.Start */
  PUBLISH = 'publish',
  /** Publish.Start received: the caller sends media */
  PUBLISHING = 'publishing',
  CLOSED = 'closed',
}

const TXN_CONNECT = 1
const TXN_CREATE_STREAM = 2
/** play and publish go out on chunk stream 5 (nginx-rtmp's NGX_RTMP_RELAY_CSID_AMF), message stream 1 */
const CSID_RELAY_AMF = CSID_STATUS
/** play(name, start, duration): -1000 for both, as ngx_live_relay_rtmp_send_play (§2.3) */
const PLAY_START = -1000
const PLAY_DURATION = -1000
/**
 * Chunk stream ids accepted from the origin: every id the 3-byte basic header can name
 * (RTMP 5.3.1.1: up to 65599). The reader keeps state only for ids that are used.
 */
const MAX_CHUNK_STREAMS = 65600
/** FLV tag header inside an aggregate message: type(1) size(3) time(3) time-ext(1) stream(3) */
const AGGREGATE_TAG_HEADER_BYTES = 11
/** PreviousTagSize after each tag of an aggregate message */
const AGGREGATE_BACK_POINTER_BYTES = 4

export class RtmpClientSession {
  private current = RtmpClientState.IDLE
  private socket: Socket | null = null
  private readonly handshake = new ClientHandshake()
  private readonly reader: ChunkReader
  private received = 0
  /** counts chunk-stream bytes only (after S2), as nginx-rtmp's in_bytes */
  private readonly acks = new AckWindow()
  /** connectTimeoutMs while CONNECTING, then readTimeoutMs refreshed on every read */
  private readonly idle = new IdleTimer((ms) => this.close(this.current === RtmpClientState.CONNECTING
    ? `${this.peer} did not accept the connection within ${ms} ms`
    : `${this.peer} sent nothing for ${ms} ms in state ${this.current}`))

  constructor(private readonly opts: RtmpClientOptions, private readonly handlers: RtmpClientHandlers) {
    this.reader = new ChunkReader({
      maxMessageBytes: opts.maxMessageBytes,
      maxStreams: MAX_CHUNK_STREAMS,
      // what origins (nginx-rtmp with play_time_fix, ffmpeg, librtmp) send
      extendedOnType3: true,
      onMessage: (m) => this.onMessage(m),
    })
  }

  /** what close reasons call the remote end */
  private get peer(): string {
    return this.opts.action === 'play' ? 'origin' : 'push target'
  }

  /** every byte read from the origin so far, handshake included */
  get bytesIn(): number {
    return this.received
  }

  get state(): RtmpClientState {
    return this.current
  }

  /** bytes written and not yet taken by the kernel */
  get queuedBytes(): number {
    return this.socket?.writableLength ?? 0
  }

  /** Write a message already chunked at our chunk size (a push leg's share of the stream's output). */
  send(chunks: Buffer): void {
    this.write(chunks)
  }

  /** User Control StreamBegin(1): what PingOS sends a push target when media starts (observed §14.1). */
  sendStreamBegin(): void {
    this.write(userControlMessage(UC_STREAM_BEGIN, STREAM_ID, this.opts.chunkSize))
  }

  /** Opens the TCP connection; everything after it is driven by the origin's replies. */
  start(): void {
    if (this.current !== RtmpClientState.IDLE) throw new Error(`RtmpClientSession.start() in state ${this.current}`)
    this.current = RtmpClientState.CONNECTING
    const socket = tcpConnect({ host: this.opts.host, port: this.opts.port })
    this.socket = socket
    this.handlers.onSocket?.(socket)
    socket.setNoDelay(true)
    socket.on('connect', () => this.onConnected())
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('error', (err) => this.close(syscallFailure(err)))
    socket.on('close', () => this.close(`${this.peer} closed the connection in state ${this.current}`))
    this.idle.arm(this.opts.connectTimeoutMs)
  }

  /** Ends the session: destroys the socket and calls onClose(reason), both only the first time. */
  close(reason: string): void {
    if (this.current === RtmpClientState.CLOSED) return
    this.current = RtmpClientState.CLOSED
    this.idle.clear()
    this.socket?.destroy()
    this.handlers.onClose(reason)
  }

  // ---- input ---------------------------------------------------------------------------------

  private onConnected(): void {
    if (this.current !== RtmpClientState.CONNECTING) return
    this.current = RtmpClientState.HANDSHAKE
    this.idle.arm(this.opts.readTimeoutMs)
    this.write(this.handshake.start())
  }

  private onData(data: Buffer): void {
    if (this.current === RtmpClientState.CLOSED) return
    this.idle.refresh()
    this.received += data.length
    try {
      if (this.current === RtmpClientState.HANDSHAKE) {
        this.handshake.push(data)
        if (this.handshake.state !== ClientHandshakeState.DONE) return
        this.sendConnect()
        const rest = this.handshake.leftover()
        this.acks.count(rest.length)
        if (rest.length > 0) this.reader.push(rest)
      } else {
        this.acks.count(data.length)
        this.reader.push(data)
      }
      const ack = this.acks.due()
      if (ack !== null) this.write(ack)
    } catch (err) {
      this.fail(err)
    }
  }

  private fail(err: unknown): void {
    if (err instanceof EdgeError) this.close(`${err.message} (${err.code})`)
    else this.close(`internal error: ${(err as Error).stack ?? String(err)}`)
  }

  private onMessage(m: ChunkMessage): void {
    // close() may be called from a handler while the reader still holds parsed bytes
    if (this.current === RtmpClientState.CLOSED) return
    switch (m.typeId) {
      case MSG_AUDIO:
      case MSG_VIDEO:
      case MSG_DATA_AMF0:
        this.media(m as MediaMessage) // typeId is 8, 9 or 18 here; the reader makes a new object per message
        return
      case MSG_DATA_AMF3:
        // an AMF3 data message is one format byte (0) and then AMF0 values
        this.media({ typeId: MSG_DATA_AMF0, timestamp: m.timestamp, payload: m.payload.subarray(1) })
        return
      case MSG_AGGREGATE:
        this.onAggregate(m)
        return
      case MSG_COMMAND_AMF0:
      case MSG_COMMAND_AMF3:
        this.onCommand(decodeCommand(m.payload, m.typeId === MSG_COMMAND_AMF3))
        return
      case MSG_WINDOW_ACK_SIZE:
        this.acks.setWindow(m.payload)
        return
      case MSG_USER_CONTROL:
        this.onUserControl(m.payload)
        return
      default:
        // Set Chunk Size and Abort are applied by the reader. Acknowledgement, Set Peer
        // Bandwidth, shared objects and unknown types are ignored, as nginx-rtmp does
        // (ngx_rtmp_receive_message has no handler for them and goes on).
        return
    }
  }

  /**
   * Media counts only once Play.Start has made the leg a publisher: PingOS's live module drops
   * A/V from a session that is not publishing. Origins send Play.Start before media anyway.
   */
  private media(msg: MediaMessage): void {
    if (this.current === RtmpClientState.PLAYING) this.handlers.onMedia(msg)
  }

  /**
   * Aggregate message (RTMP 7.1.6): FLV tags back to back, each followed by a 4-byte back
   * pointer. As ngx_rtmp_aggregate_message_handler: the first tag's time is the base, each
   * sub-message gets the aggregate's timestamp plus its offset from that base. Payloads are
   * views of the aggregate.
   */
  private onAggregate(m: ChunkMessage): void {
    const p = m.payload
    let at = 0
    let base = -1
    while (at < p.length && this.current !== RtmpClientState.CLOSED) {
      if (p.length - at < AGGREGATE_TAG_HEADER_BYTES) throw new ProtocolError('ERR_RTMP_MESSAGE', 'aggregate: truncated tag header')
      const type = p[at]
      const size = p.readUIntBE(at + 1, 3)
      const time = p[at + 7] * 0x1000000 + p.readUIntBE(at + 4, 3)
      const body = at + AGGREGATE_TAG_HEADER_BYTES
      if (p.length - body < size) throw new ProtocolError('ERR_RTMP_MESSAGE', 'aggregate: truncated tag body')
      if (base < 0) base = time
      const timestamp = (m.timestamp + time - base) >>> 0
      const payload = p.subarray(body, body + size)
      if (type === MSG_AUDIO || type === MSG_VIDEO || type === MSG_DATA_AMF0) this.media({ typeId: type, timestamp, payload })
      at = Math.min(p.length, body + size + AGGREGATE_BACK_POINTER_BYTES)
    }
  }

  private onUserControl(p: Buffer): void {
    // RTMP 7.1.7: a PingRequest is answered with a PingResponse carrying the same timestamp;
    // StreamBegin, StreamEOF, StreamDry, StreamIsRecorded need nothing from a relay client.
    // A message too short for its event is ignored, as nginx-rtmp's user message handler does.
    if (p.length >= 6 && p.readUInt16BE(0) === UC_PING_REQUEST) {
      this.write(userControlMessage(UC_PING_RESPONSE, p.readUInt32BE(2), this.opts.chunkSize))
    }
  }

  private onCommand(cmd: Command): void {
    switch (cmd.name) {
      case '_result':
        // as ngx_live_relay_rtmp_on_result: matched by transaction id, the info is not read
        if (cmd.transactionId === TXN_CONNECT && this.current === RtmpClientState.CONNECT) this.sendCreateStream()
        else if (cmd.transactionId === TXN_CREATE_STREAM && this.current === RtmpClientState.CREATE_STREAM) {
          if (this.opts.action === 'play') this.sendPlay()
          else this.sendPublish()
        }
        return
      case '_error':
        this.handlers.onStatus(statusInfo(cmd.args[0], true))
        return
      case 'onStatus': {
        const info = statusInfo(cmd.args[0], false)
        this.handlers.onStatus(info)
        // §2.3 step 6: only Play.Start makes the leg a publisher; other codes change nothing here
        if (info.code === 'NetStream.Play.Start' && this.current === RtmpClientState.PLAY) {
          this.current = RtmpClientState.PLAYING
          this.handlers.onStarted()
        } else if (info.code === 'NetStream.Publish.Start' && this.current === RtmpClientState.PUBLISH) {
          // §5.2 step 5: the target takes media; it owes us nothing more, so no read deadline
          this.current = RtmpClientState.PUBLISHING
          this.idle.clear()
          this.handlers.onStarted()
        }
        return
      }
      default:
        // onBWDone, close, ...: nothing to answer
        return
    }
  }

  // ---- output --------------------------------------------------------------------------------

  private write(b: Buffer): void {
    if (this.current !== RtmpClientState.CLOSED) this.socket?.write(b)
  }

  /** C2, then §2.3 steps 2 and 3, in one TCP segment. */
  private sendConnect(): void {
    const o = this.opts
    const socket = this.socket as Socket
    this.current = RtmpClientState.CONNECT
    socket.cork()
    for (const out of this.handshake.takeOutput()) socket.write(out)
    socket.write(setChunkSizeMessage(o.chunkSize))
    socket.write(windowAckSizeMessage(o.ackWindow))
    // key order is PingOS's; no fpad, capabilities or objectEncoding
    socket.write(commandMessage(o.chunkSize, CSID_COMMAND, 0, 'connect', TXN_CONNECT, {
      app: o.app,
      tcUrl: o.tcUrl,
      pageUrl: o.pageUrl,
      swfUrl: o.swfUrl,
      flashVer: o.flashVer,
      audioCodecs: o.audioCodecs,
      videoCodecs: o.videoCodecs,
    }))
    socket.uncork()
  }

  private sendCreateStream(): void {
    this.current = RtmpClientState.CREATE_STREAM
    this.write(commandMessage(this.opts.chunkSize, CSID_COMMAND, 0, 'createStream', TXN_CREATE_STREAM, null))
  }

  /** §2.3 step 5: the stream id from createStream's _result is ignored; it is always 1. */
  private sendPlay(): void {
    const o = this.opts
    const socket = this.socket as Socket
    this.current = RtmpClientState.PLAY
    socket.cork()
    socket.write(commandMessage(o.chunkSize, CSID_RELAY_AMF, STREAM_ID, 'play', 0, null, o.streamName, PLAY_START, PLAY_DURATION))
    socket.write(userControlMessage(UC_SET_BUFFER_LENGTH, STREAM_ID, o.chunkSize, o.relayBufferMs))
    socket.uncork()
  }

  /** §5.2 step 4: no releaseStream or FCPublish; the stream id from createStream is ignored. */
  private sendPublish(): void {
    this.current = RtmpClientState.PUBLISH
    this.write(commandMessage(this.opts.chunkSize, CSID_RELAY_AMF, STREAM_ID, 'publish', 0, null, this.opts.streamName, 'live'))
  }
}

function isObject(v: AmfValue): v is AmfObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)
}

function text(o: AmfObject, key: string): string {
  const v = o[key]
  return typeof v === 'string' ? v : ''
}

/** The info object of onStatus / _error; missing fields read as "". */
function statusInfo(v: AmfValue, viaError: boolean): RtmpStatusInfo {
  const o = isObject(v) ? v : {}
  return { level: text(o, 'level'), code: text(o, 'code'), description: text(o, 'description'), viaError }
}
