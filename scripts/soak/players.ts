// The soak's audience (issue 9): a population of RTMP and HTTP-FLV players of one stream that
// join and leave, kept near a target size. Each player stays a random time, reads and discards
// what it receives, then leaves; a replacement joins at once. A player the server ends early is
// replaced after a short back-off, so that a refusing server is not hammered in a tight loop.
//
// The players are cheap Node clients in the soak's own process: the C load player
// (scripts/load/player.c) holds a fixed set for one window and cannot join and leave.
//   RTMP:     the project's own client (lib/rtmp/client-session.ts): handshake, connect,
//             createStream, play; Acknowledgements and pings answered; media dropped.
//   HTTP-FLV: raw TCP, `GET /<app>/<name>.flv`, status line checked, the body counted and dropped.
import { connect, type Socket } from 'node:net'
import { RtmpClientSession } from '../../lib/rtmp/client-session.js'

export type PlayerProtocol = 'rtmp' | 'flv'

export interface PlayerPoolOptions {
  readonly rtmpPort: number
  readonly httpPort: number
  readonly app: string
  readonly name: string
  /** the population kept */
  readonly target: number
  /** each player stays a uniformly random time in [minStayMs, maxStayMs] */
  readonly minStayMs: number
  readonly maxStayMs: number
  /** the first `target` players join spread evenly over this long */
  readonly rampMs: number
  /** fraction of players using HTTP-FLV; the rest play RTMP */
  readonly flvShare: number
}

export interface PlayerCounts {
  /** players started, by protocol */
  joined: Record<PlayerProtocol, number>
  /** left on their own when their stay was over */
  left: number
  /** ended by the server or the network after media had arrived */
  dropped: number
  /** ended before any media arrived (refused, or closed while waiting) */
  failed: number
  /** bytes received by players that have ended */
  bytes: number
  /** the first few reasons players were dropped or failed, for the report */
  reasons: Map<string, number>
}

/** A replacement for a player the server ended joins after this long. */
const REJOIN_BACKOFF_MS = 1000
/** An HTTP response head longer than this is a failure. */
const MAX_HEAD_BYTES = 8192
/** distinct end reasons kept for the report */
const MAX_REASONS = 20

// RTMP client parameters: what a Flash-era player announces, and limits of a pull leg
const FLASH_VER = 'LNX 9,0,124,2'
const AUDIO_CODECS = 3575
const VIDEO_CODECS = 252
const BUFFER_MS = 1000
const CHUNK_SIZE = 4096
const ACK_WINDOW = 5_000_000
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024
/** a player gives up on a connect, or on the edge sending nothing, after these */
const CONNECT_TIMEOUT_MS = 3000
const READ_TIMEOUT_MS = 60_000

interface Player {
  readonly protocol: PlayerProtocol
  /** ms timestamp of the last media received; 0 until the first */
  lastMediaAt: number
  /** bytes received so far */
  bytes(): number
  /** leave: closes the connection; the end handler still runs, with `leaving` set */
  close(): void
  leaving: boolean
  stay: NodeJS.Timeout | null
}

export class PlayerPool {
  readonly counts: PlayerCounts = { joined: { rtmp: 0, flv: 0 }, left: 0, dropped: 0, failed: 0, bytes: 0, reasons: new Map() }
  private readonly players = new Set<Player>()
  private readonly pending = new Set<NodeJS.Timeout>()
  private running = false

  constructor(private readonly opts: PlayerPoolOptions) {}

  /** Starts the ramp: `target` players spread over `rampMs`. */
  start(): void {
    this.running = true
    const { target, rampMs } = this.opts
    for (let i = 0; i < target; i++) this.later((i * rampMs) / target)
  }

  /** Players whose connection is open (connecting, waiting or receiving). */
  get open(): number {
    return this.players.size
  }

  /** Players that received media within the last `withinMs`. */
  receiving(withinMs: number): number {
    const since = Date.now() - withinMs
    let n = 0
    for (const p of this.players) if (p.lastMediaAt >= since) n++
    return n
  }

  /** Every byte received so far, by ended and open players. */
  get bytes(): number {
    let b = this.counts.bytes
    for (const p of this.players) b += p.bytes()
    return b
  }

  /** Stops joining and closes every player; resolves at once (sockets are destroyed). */
  stop(): void {
    this.running = false
    for (const t of this.pending) clearTimeout(t)
    this.pending.clear()
    for (const p of [...this.players]) {
      p.leaving = true
      p.close()
    }
  }

  private later(ms: number): void {
    const t = setTimeout(() => {
      this.pending.delete(t)
      if (this.running) this.join()
    }, ms)
    this.pending.add(t)
  }

  private join(): void {
    const protocol: PlayerProtocol = Math.random() < this.opts.flvShare ? 'flv' : 'rtmp'
    this.counts.joined[protocol]++
    const player = protocol === 'flv' ? this.flvPlayer((reason) => this.ended(player, reason)) : this.rtmpPlayer((reason) => this.ended(player, reason))
    this.players.add(player)
    const { minStayMs, maxStayMs } = this.opts
    player.stay = setTimeout(() => {
      player.stay = null
      player.leaving = true
      player.close()
    }, minStayMs + Math.random() * (maxStayMs - minStayMs))
  }

  /** Called exactly once per player, whatever ended it. */
  private ended(p: Player, reason: string): void {
    if (!this.players.delete(p)) return
    if (p.stay !== null) clearTimeout(p.stay)
    this.counts.bytes += p.bytes()
    if (p.leaving) {
      this.counts.left++
    } else {
      if (p.lastMediaAt > 0) this.counts.dropped++
      else this.counts.failed++
      const key = `${p.protocol} ${p.lastMediaAt > 0 ? 'dropped' : 'failed'}: ${reason}`
      if (this.counts.reasons.has(key) || this.counts.reasons.size < MAX_REASONS) {
        this.counts.reasons.set(key, (this.counts.reasons.get(key) ?? 0) + 1)
      }
    }
    if (this.running) this.later(p.leaving ? 0 : REJOIN_BACKOFF_MS)
  }

  private rtmpPlayer(onEnd: (reason: string) => void): Player {
    const { rtmpPort: port, app, name } = this.opts
    const player: Player = {
      protocol: 'rtmp', lastMediaAt: 0, leaving: false, stay: null,
      bytes: () => session.bytesIn,
      close: () => session.close('left'),
    }
    const session: RtmpClientSession = new RtmpClientSession({
      action: 'play', host: '127.0.0.1', port, app, tcUrl: `rtmp://127.0.0.1:${port}/${app}`, pageUrl: '', swfUrl: '', flashVer: FLASH_VER,
      audioCodecs: AUDIO_CODECS, videoCodecs: VIDEO_CODECS, streamName: name, relayBufferMs: BUFFER_MS, chunkSize: CHUNK_SIZE,
      ackWindow: ACK_WINDOW, maxMessageBytes: MAX_MESSAGE_BYTES, connectTimeoutMs: CONNECT_TIMEOUT_MS, readTimeoutMs: READ_TIMEOUT_MS,
    }, {
      onStarted: () => {},
      onMedia: () => { player.lastMediaAt = Date.now() },
      onStatus: (s) => { if (s.level === 'error') session.close(`${s.code}`) },
      onClose: (reason) => onEnd(reason),
    })
    session.start()
    return player
  }

  private flvPlayer(onEnd: (reason: string) => void): Player {
    const { httpPort: port, app, name } = this.opts
    const socket: Socket = connect(port, '127.0.0.1')
    let received = 0
    let head = ''
    let inBody = false
    let reason = 'closed by the server'
    const player: Player = {
      protocol: 'flv', lastMediaAt: 0, leaving: false, stay: null,
      bytes: () => received,
      close: () => socket.destroy(),
    }
    socket.on('connect', () => socket.write(`GET /${app}/${name}.flv HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: edge-soak\r\n\r\n`))
    socket.on('data', (d: Buffer) => {
      received += d.length
      if (inBody) {
        player.lastMediaAt = Date.now()
        return
      }
      head += d.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) {
        if (head.length > MAX_HEAD_BYTES) { reason = 'response head too long'; socket.destroy() }
        return
      }
      const status = head.slice(0, head.indexOf('\r\n'))
      if (!/^HTTP\/1\.[01] 200 /.test(status)) {
        reason = status
        socket.destroy()
        return
      }
      inBody = true
      if (head.length > end + 4) player.lastMediaAt = Date.now()
      head = ''
    })
    socket.on('error', (err: NodeJS.ErrnoException) => { reason = err.code ?? err.message })
    socket.on('close', () => onEnd(reason))
    return player
  }
}
