// One RTMP client connection: socket ⇄ handshake ⇄ chunk reader/writer ⇄ commands. `play` and
// `publish` enter the application's pipelines (lib/stages.ts); the session only turns their
// outcome into onStatus (pingos-behaviour.md §7). Every failure closes this session alone,
// with one log line.
import type { Socket } from 'node:net'
import type { AppConf, RtmpListener, RtmpServerConf } from '../conf/tree.js'
import { syscallFailure } from '../core/errno.js'
import { EdgeError, ProtocolError } from '../core/errors.js'
import type { Logger, LogContext } from '../core/log.js'
import type { NodeMetrics } from '../core/node-metrics.js'
import { Output, type WriteMergers } from '../core/output.js'
import { selectServer } from '../core/vhost.js'
import type { Frame } from '../live/frame.js'
import { connectTarget, rtmpPlayInfo, type ConnectTarget } from './play-info.js'
import type { PlayClient, PlayControl, PlayRequest, PublishClient, Publishing, PublishRequest } from '../live/stages.js'
import { StageRequest, type Outcome, type PlayFailure, type PlayInfo } from '../stages.js'
import { MSG_AUDIO, MSG_VIDEO, type MediaMessage } from '../media/message.js'
import { AckWindow } from './ack-window.js'
import { ChunkReader, type ChunkMessage } from './chunk-reader.js'
import {
  commandMessage, connectResultMessage, decodeCommand, readConnect, resultMessage, sampleAccessMessage,
  setChunkSizeMessage, setPeerBandwidthMessage, splitStreamName, statusMessage, userControlMessage,
  windowAckSizeMessage, type Command, type ConnectInfo, type StatusLevel,
} from './commands.js'
import {
  CSID_STATUS, MSG_ABORT, MSG_ACK, MSG_AGGREGATE, MSG_COMMAND_AMF0, MSG_COMMAND_AMF3, MSG_DATA_AMF0, MSG_DATA_AMF3,
  MSG_SET_CHUNK_SIZE, MSG_SET_PEER_BANDWIDTH, MSG_SHARED_OBJECT_AMF0, MSG_SHARED_OBJECT_AMF3, MSG_USER_CONTROL, MSG_WINDOW_ACK_SIZE,
  STREAM_ID, UC_PING_REQUEST, UC_PING_RESPONSE, UC_STREAM_BEGIN, UC_STREAM_EOF,
} from './constants.js'
import { ServerHandshake, ServerHandshakeState } from './handshake.js'

/** What a session needs from the node: shared across sessions. */
export interface RtmpContext {
  readonly log: Logger
  /** flush players' merged output (merge_time, merge_frame) */
  readonly mergers: WriteMergers
  /** the node's counters (slow players closed) */
  readonly metrics: NodeMetrics
  /** the next connection number (`clientid`), shared with HTTP */
  nextSessionId(): number
  /** run the play pipeline of the request's application; `outcome` is told how it went */
  play(req: PlayRequest, outcome: Outcome): void
  /** run the publish pipeline of the request's application */
  publish(req: PublishRequest, outcome: Outcome): void
  /**
   * The application a connect to `app` on the rtmp listener `listen` (its address text) for
   * `domain` finds in the configuration now: a reload may have changed or removed it.
   */
  currentApp(listen: string, domain: string, app: string): AppConf | null
}

/** How long a session closed after a status keeps reading what its client still sends (nginx's lingering_timeout). */
export const RTMP_LINGERING_MS = 5000

const enum Phase {
  Handshake,
  Connecting,
  Connected,
  Closed,
}

export class RtmpServerSession implements PlayClient, PublishClient {
  readonly format = 'rtmp' as const
  readonly id: number
  private phase = Phase.Handshake
  /** dropped once done: its packet buffers are not kept for the session's life */
  private handshake: ServerHandshake | null = new ServerHandshake()
  private readonly reader: ChunkReader
  private readonly out: Output
  private server: RtmpServerConf
  private target: ConnectTarget | null = null
  private connectInfo: ConnectInfo | null = null
  /** the play or publish this session is in (one per session: a second one is ignored, §0) */
  private request: PlayRequest | PublishRequest | null = null
  /** where published media goes, once the publish pipeline accepted it */
  private into: Publishing | null = null
  /** pause / unpause of the play, once the play pipeline accepted it */
  private control: PlayControl | null = null
  private paused = false
  /** a redirected play joins its new stream without a second Play.Start (observed §15) */
  private silentJoin = false
  /** every byte read counts, the handshake's too */
  private readonly acks = new AckWindow()
  private timer: NodeJS.Timeout | null = null
  /** the duration the timer was armed with */
  private armedMs = 0
  private awaitingPing = false
  private readonly peer: string
  private readonly ctxLog: LogContext

  constructor(private readonly socket: Socket, private readonly listener: RtmpListener, private readonly ctx: RtmpContext) {
    this.id = ctx.nextSessionId()
    this.server = listener.defaultServer
    this.peer = `${socket.remoteAddress ?? ''}`
    this.ctxLog = { session: this.id, peer: `${this.peer}:${socket.remotePort ?? 0}` }
    this.out = new Output(socket, (unsent) => {
      // a player's (its play was accepted); a publisher's output is only acks and statuses
      if (this.control !== null) ctx.metrics.slowPlayersClosed.send_timeout++
      this.close(`send timed out, ${unsent} bytes unsent`, 'info')
    })
    this.reader = new ChunkReader({
      maxMessageBytes: this.server.maxMessageBytes,
      maxStreams: this.server.maxStreams,
      extendedOnType3: this.server.publishTimeFix,
      onMessage: (m) => this.onMessage(m),
    })
    socket.setNoDelay(this.server.tcpNodelay)
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('error', (err) => this.close(syscallFailure(err), 'info'))
    socket.on('close', () => this.close('client disconnected', 'info'))
    this.arm(this.server.timeoutMs)
    ctx.log.info(`client connected to ${listener.address.text}`, this.ctxLog)
  }

  get queuedBytes(): number {
    return this.out.queuedBytes
  }

  // ---- input ---------------------------------------------------------------------------------

  private onData(data: Buffer): void {
    if (this.phase === Phase.Closed) return
    this.acks.count(data.length)
    try {
      if (this.phase === Phase.Handshake) {
        const hs = this.handshake as ServerHandshake
        hs.push(data)
        for (const b of hs.takeOutput()) this.out.send(b)
        if (hs.state !== ServerHandshakeState.DONE) return
        this.phase = Phase.Connecting
        this.handshake = null
        this.onInput()
        const rest = hs.leftover()
        if (rest.length > 0) this.reader.push(rest)
      } else {
        this.onInput()
        this.reader.push(data)
      }
      // a message of this read may have closed the session: nothing more is written then
      const ack = (this.phase as Phase) === Phase.Closed ? null : this.acks.due()
      if (ack !== null) this.out.send(ack)
    } catch (err) {
      this.abort(err)
    }
  }

  private abort(err: unknown): void {
    if (err instanceof EdgeError) this.close(`${err.message} (${err.code})`, 'error')
    else this.close(`internal error: ${(err as Error).stack ?? String(err)}`, 'alert')
  }

  private onMessage(m: ChunkMessage): void {
    // closed by an earlier message of the same read: the rest of that read is not acted on
    if (this.phase === Phase.Closed) return
    switch (m.typeId) {
      case MSG_AUDIO:
      case MSG_VIDEO:
        // before the publish is accepted (on_publish pending), media is discarded (§4.3)
        this.into?.media(m as MediaMessage) // typeId is 8 or 9 here
        return
      case MSG_DATA_AMF0:
      case MSG_DATA_AMF3:
        if (this.into !== null) {
          // an AMF3 data message is a format byte (0) and then AMF0 values
          const payload = m.typeId === MSG_DATA_AMF3 ? m.payload.subarray(1) : m.payload
          const refused = this.into.data({ typeId: MSG_DATA_AMF0, timestamp: m.timestamp, payload })
          if (refused !== null) this.ctx.log.warn(refused, this.logCtx())
        }
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
      case MSG_SET_CHUNK_SIZE:
      case MSG_ABORT:
      case MSG_ACK:
      case MSG_SET_PEER_BANDWIDTH:
      case MSG_SHARED_OBJECT_AMF3:
      case MSG_SHARED_OBJECT_AMF0:
      case MSG_AGGREGATE:
        // chunk size and abort are applied by the reader; the rest needs nothing here
        return
      default:
        throw new ProtocolError('ERR_RTMP_MESSAGE', `unknown message type ${m.typeId}`)
    }
  }

  private onUserControl(p: Buffer): void {
    if (p.length < 6) throw new ProtocolError('ERR_RTMP_MESSAGE', 'short user control message')
    const event = p.readUInt16BE(0)
    if (event === UC_PING_REQUEST) this.out.send(userControlMessage(UC_PING_RESPONSE, p.readUInt32BE(2), this.server.chunkSize))
    else if (event === UC_PING_RESPONSE) this.awaitingPing = false
  }

  private onCommand(cmd: Command): void {
    if (this.phase === Phase.Connecting) {
      if (cmd.name !== 'connect') return
      this.onConnect(cmd)
      return
    }
    switch (cmd.name) {
      case 'connect':
        this.close('second connect on one connection', 'error')
        return
      case 'createStream':
        this.out.send(resultMessage(this.server.chunkSize, cmd.transactionId, null, STREAM_ID))
        return
      case 'publish':
        this.onPublish(cmd)
        return
      case 'play':
        this.onPlay(cmd)
        return
      case 'play2':
        this.leaveStream()
        this.onPlay(cmd)
        return
      case 'deleteStream':
      case 'closeStream':
        this.leaveStream()
        return
      case 'pause':
      case 'pauseraw':
        this.onPause(cmd.args[0] === true)
        return
      default:
        // releaseStream, FCPublish, FCUnpublish, getStreamLength, seek, _checkbw ...: no reply (§7.1)
        return
    }
  }

  private onConnect(cmd: Command): void {
    const info = readConnect(cmd)
    const target = connectTarget(info)
    const server = selectServer(this.listener.servers, this.listener.defaultServer, target.domain)
    const app = server.applications.find((a) => a.name === target.app) ?? server.starApplication
    if (app === null) {
      // PingOS closes the connection without any _error (§1.9, scenario 4)
      this.close(`connect: no application "${target.app}"`, 'info')
      return
    }
    this.server = server
    this.target = target
    this.connectInfo = info
    this.phase = Phase.Connected
    const cs = server.chunkSize
    // one write for the four (a few hundred bytes, once per session)
    this.out.send(Buffer.concat([windowAckSizeMessage(server.ackWindow), setPeerBandwidthMessage(server.ackWindow),
      setChunkSizeMessage(cs), connectResultMessage(cs, cmd.transactionId, info.objectEncoding)]))
    this.ctx.log.info(`connect: app='${target.app}' args='${target.args}' flashver='${info.flashVer}' tc_url='${info.tcUrl}'`, this.logCtx())
  }

  private logCtx(name?: string): LogContext {
    return { ...this.ctxLog, app: this.target?.app, name }
  }

  private status(level: StatusLevel, code: string, description: string): void {
    this.out.send(statusMessage(this.server.chunkSize, level, code, description))
  }

  /** The application as configured now: a reload since connect may have changed or removed it. */
  private currentApp(): AppConf | null {
    const target = this.target as ConnectTarget
    const app = this.ctx.currentApp(this.listener.address.text, target.domain, target.app)
    if (app === null) this.close(`application "${target.app}" was removed by a reload`, 'info')
    return app
  }

  private onPublish(cmd: Command): void {
    if (this.request !== null) return
    const app = this.currentApp()
    if (app === null) return
    const { name, args } = splitStreamName(cmd.args[0])
    this.publish(this.sessionInfo(name, args), app)
  }

  private publish(info: PlayInfo, app: AppConf, carry: readonly MediaMessage[] = []): void {
    const { name, pargs: args } = info
    const req: PublishRequest = new StageRequest('publish', info, app, this.server, this)
    this.request = req
    this.ctx.publish(req, (failure) => {
      if (failure !== null) {
        this.refused(req, failure)
        return
      }
      this.status('status', 'NetStream.Publish.Start', 'Start publishing')
      this.ctx.log.info(`publish: name='${name}' args='${args}'`, this.logCtx(name))
      const into = this.into
      if (into !== null) {
        for (const m of carry) {
          if (m.typeId === MSG_AUDIO || m.typeId === MSG_VIDEO) into.media(m)
          else into.data(m)
        }
      }
    })
  }

  private onPlay(cmd: Command): void {
    if (this.request !== null) return
    const app = this.currentApp()
    if (app === null) return
    const { name, args } = splitStreamName(cmd.args[0])
    // `timeout` is also the write timeout (§1.5): output blocked that long ends the session
    this.out.configure(this.ctx.mergers.get(app.mergeTimeMs), app.mergeFrame, this.server.timeoutMs)
    this.play(this.sessionInfo(name, args), app)
  }

  private play(info: PlayInfo, app: AppConf): void {
    const { name, pargs: args } = info
    const req: PlayRequest = new StageRequest('play', info, app, this.server, this)
    this.request = req
    this.ctx.play(req, (failure) => {
      if (failure !== null) {
        this.refused(req, failure)
        return
      }
      this.ctx.log.info(`play: name='${name}' args='${args}'`, this.logCtx(name))
      this.out.flush() // the cached burst goes out now, not after the merge delay
    })
  }

  /** A pipeline said no: the status, then the close (or not, for a duplicate publisher). */
  private refused(req: StageRequest, failure: PlayFailure): void {
    if (this.request !== req) return
    this.ctx.log.info(`${req.action}: "${req.info.name}" refused: ${failure.code}`, this.logCtx(req.info.name))
    this.into = null // no Unpublish.Success: the status says what happened
    this.leaveStream()
    if (failure.keepConnection === true) this.status(failure.level as StatusLevel, failure.code, failure.description)
    else this.fail(failure)
  }

  private sessionInfo(name: string, pargs: string): PlayInfo {
    return rtmpPlayInfo(this.id, this.connectInfo as ConnectInfo, this.target as ConnectTarget, this.listener, this.socket, name, pargs)
  }

  private onPause(pause: boolean): void {
    const control = this.control
    if (control === null) return
    if (pause && !this.paused) {
      this.paused = true
      control.pause()
      this.status('status', 'NetStream.Pause.Notify', 'Paused live')
      this.streamEof()
    } else if (!pause && this.paused) {
      this.paused = false
      this.status('status', 'NetStream.Unpause.Notify', 'Unpaused live')
      control.resume()
      this.out.flush()
    }
  }

  /** closeStream/deleteStream or the end of the connection: leave the play or publish. */
  private leaveStream(): void {
    const req = this.request
    if (req === null) return
    const wasPublishing = this.into !== null
    this.request = null
    this.into = null
    this.control = null
    this.paused = false
    req.close()
    if (wasPublishing && this.phase !== Phase.Closed) this.status('status', 'NetStream.Unpublish.Success', 'Stop publishing')
  }

  // ---- what the pipelines call ---------------------------------------------------------------

  /**
   * rtmp_control redirect (§9.2): the play or publish goes on as `target` (a name, with ?args or
   * not). A player is told StreamEOF and nothing more (observed §15); a publisher's metadata and
   * headers (`carry`) go first into the new stream, as its encoder sends them only once.
   */
  redirect(target: string, carry: readonly MediaMessage[] = []): void {
    const req = this.request
    if (req === null || this.phase === Phase.Closed) return
    const app = this.currentApp()
    if (app === null) return
    const { name, args } = splitStreamName(target)
    this.ctx.log.info(`${req.action}: redirected to '${name}' by rtmp_control`, this.logCtx(req.info.name))
    if (req.action === 'play') this.streamEof()
    this.leaveStream()
    const info = { ...req.info, name, pargs: args }
    if (req.action === 'play') {
      this.silentJoin = true
      this.play(info, app)
    } else this.publish(info, app, carry)
  }

  joined(control: PlayControl): void {
    this.control = control
    if (this.silentJoin) {
      this.silentJoin = false
      return
    }
    this.status('status', 'NetStream.Play.Start', 'Start live')
    this.out.send(sampleAccessMessage(this.server.chunkSize))
  }

  publishing(into: Publishing): void {
    this.into = into
  }

  notice(level: string, code: string, description: string): void {
    this.status(level as StatusLevel, code, description)
  }

  writeFrame(frame: Frame): void {
    this.out.write(frame.rtmp)
  }

  streamBegin(): void {
    this.out.send(userControlMessage(UC_STREAM_BEGIN, STREAM_ID, this.server.chunkSize))
  }

  streamEof(): void {
    this.out.send(userControlMessage(UC_STREAM_EOF, STREAM_ID, this.server.chunkSize))
  }

  fail(failure: PlayFailure): void {
    const info = { level: failure.level, code: failure.code, description: failure.description }
    this.out.send(failure.viaError
      ? commandMessage(this.server.chunkSize, CSID_STATUS, STREAM_ID, '_error', 0, null, info)
      : statusMessage(this.server.chunkSize, failure.level as StatusLevel, failure.code, failure.description))
    this.close(`play failed: ${failure.code} "${failure.description}"`, 'info', true)
  }

  // ---- timers --------------------------------------------------------------------------------

  // One re-armable timer per session: handshake timeout, then ping / ping_timeout (§7.1).
  private arm(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.armedMs = ms
    this.timer = ms > 0 ? setTimeout(() => this.onTimer(), ms) : null
  }

  /** Input arrived: the peer is alive; the ping interval starts again. */
  private onInput(): void {
    this.awaitingPing = false
    if (this.armedMs === this.server.pingMs && this.timer !== null) this.timer.refresh()
    else this.arm(this.server.pingMs)
  }

  private onTimer(): void {
    if (this.phase === Phase.Handshake) {
      this.close('handshake timed out', 'info')
      return
    }
    if (this.awaitingPing) {
      this.close('ping timed out', 'info')
      return
    }
    this.awaitingPing = true
    this.out.send(userControlMessage(UC_PING_REQUEST, Date.now() >>> 0, this.server.chunkSize))
    this.arm(this.server.pingTimeoutMs)
  }

  // ---- end -----------------------------------------------------------------------------------

  /**
   * End the session. `lingering`: a status was just written for the client to read, so the
   * socket is half-closed after it and the client's further bytes are read and dropped until
   * it closes (at most RTMP_LINGERING_MS): destroying a socket with unread input sends a RST,
   * and a RST can discard the status before the client has read it.
   */
  close(reason: string, level: 'info' | 'error' | 'alert' = 'info', lingering = false): void {
    if (this.phase === Phase.Closed) return
    this.phase = Phase.Closed
    if (this.timer !== null) clearTimeout(this.timer)
    this.out.close()
    this.leaveStream()
    this.ctx.log.log(level, `close: ${reason}`, this.logCtx())
    if (!lingering) {
      this.socket.destroy()
      return
    }
    this.socket.end()
    const linger = setTimeout(() => this.socket.destroy(), RTMP_LINGERING_MS)
    this.socket.once('close', () => clearTimeout(linger))
  }
}
