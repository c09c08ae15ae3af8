// Lightweight load player for `npm run bench:load`: one process holding N RTMP or HTTP-FLV
// players of one stream. Per player it records time to first byte, time to first video
// keyframe (TTFF), bytes received inside the measurement window and the last media timestamp
// seen. HTTP-FLV is parsed only as far as tag headers (a byte counter and a skip count per
// player); RTMP goes through lib/rtmp's ClientHandshake and ChunkReader.
//
//   node dist/scripts/load/players.js <flv|rtmp> <host> <port> <app/stream> <count> <perSecond> <measureSeconds> [settleSeconds]
//
// Protocol on stdio: "MEASURE_START\n" on stderr when the window opens, then one JSON line of
// results on stdout at its end, then the process exits.
import { connect, type Socket } from 'node:net'
import { ChunkReader, type ChunkMessage } from '../../lib/rtmp/chunk-reader.js'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'
import { ackMessage, commandMessage, decodeCommand, setChunkSizeMessage } from '../../lib/rtmp/commands.js'
import { ClientHandshake, ClientHandshakeState } from '../../lib/rtmp/handshake.js'

export interface PlayerResult {
  /** ms from connect() to the first byte, or -1 */
  ttfb: number
  /** ms from connect() to the first video keyframe (not a sequence header), or -1 */
  ttff: number
  /** bytes received inside the measurement window */
  bytes: number
  /** newest video timestamp (ms) seen, or -1 (video only: audio interleaving would add noise) */
  lastTs: number
  /** the connection failed or closed */
  error: string
}

export interface PlayersReport {
  protocol: string
  count: number
  connected: number
  windowSeconds: number
  /** this process's own CPU use over the window, fraction of one core */
  selfCpu: number
  players: PlayerResult[]
}

class Player {
  t0 = 0
  ttfb = -1
  ttff = -1
  total = 0
  startBytes = 0
  lastTs = -1
  error = ''
  socket: Socket | null = null
}

// ---- HTTP-FLV -----------------------------------------------------------------------------------

/** 11-byte tag header + the first two payload bytes (video: frame type/codec, AVC packet type) */
const TAG_PEEK = 13

class FlvPlayer extends Player {
  private headerDone = false
  private head = ''
  /** bytes still to skip: FLV file header, the rest of a tag body, PreviousTagSize */
  private skip = 13
  private readonly scratch = Buffer.allocUnsafe(TAG_PEEK)
  private have = 0
  private need = TAG_PEEK

  onData(d: Buffer, now: number): void {
    let pos = 0
    if (!this.headerDone) {
      this.head += d.toString('latin1')
      const end = this.head.indexOf('\r\n\r\n')
      if (end === -1) {
        if (this.head.length > 8192) this.fail('no HTTP header end')
        return
      }
      if (!/^HTTP\/1\.[01] 200/.test(this.head)) { this.fail(`HTTP ${this.head.slice(0, 40)}`); return }
      pos = d.length - (this.head.length - end - 4)
      this.headerDone = true
      this.head = ''
    }
    while (pos < d.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, d.length - pos)
        this.skip -= n
        pos += n
        continue
      }
      // up to the 11-byte header first, so that short tags are sized before peeking their payload
      const n = Math.min((this.have < 11 ? 11 : this.need) - this.have, d.length - pos)
      d.copy(this.scratch, this.have, pos, pos + n)
      this.have += n
      pos += n
      if (this.have === 11 && this.need === TAG_PEEK) {
        // short tags (< 2 payload bytes) are only peeked as far as they go
        const size = this.scratch.readUIntBE(1, 3)
        if (size < 2) this.need = 11 + size
      }
      if (this.have < this.need) continue
      const s = this.scratch
      const size = s.readUIntBE(1, 3)
      const type = s[0] & 0x1f
      if (type === 9) {
        const ts = (s.readUIntBE(4, 3) | (s[7] << 24)) >>> 0
        if (ts > this.lastTs) this.lastTs = ts
        if (this.ttff < 0 && size >= 2 && (s[11] >> 4) === 1 && !((s[11] & 0x0f) === 7 && s[12] === 0)) {
          this.ttff = now - this.t0
        }
      }
      this.skip = size - (this.need - 11) + 4
      this.have = 0
      this.need = TAG_PEEK
    }
  }

  fail(msg: string): void {
    this.error = msg
    this.socket?.destroy()
  }
}

// ---- RTMP ---------------------------------------------------------------------------------------

const enum RtmpStep { Handshake, Connect, CreateStream, Play }
const ACK_WINDOW = 2_500_000

class RtmpPlayer extends Player {
  private readonly hs = new ClientHandshake()
  private step = RtmpStep.Handshake
  private reader: ChunkReader
  private lastAck = 0
  private streamId = 1

  constructor(private readonly app: string, private readonly stream: string, private readonly tcUrl: string) {
    super()
    this.reader = new ChunkReader({
      maxMessageBytes: 16 * 1024 * 1024, maxStreams: 64, extendedOnType3: false,
      onMessage: (m) => this.onMessage(m),
    })
  }

  start(socket: Socket): void {
    socket.write(this.hs.start())
  }

  onData(d: Buffer, now: number): void {
    this.now = now
    if (this.step === RtmpStep.Handshake) {
      d = Buffer.from(d) // the handshake may keep views of S1 (C2 echoes it); d is the shared read buffer
      this.hs.push(d)
      if (this.hs.state !== ClientHandshakeState.DONE) return
      for (const b of this.hs.takeOutput()) this.socket!.write(b)
      this.socket!.write(setChunkSizeMessage(4096))
      this.socket!.write(commandMessage(4096, 3, 0, 'connect', 1,
        { app: this.app, flashVer: 'LNX 9,0,124,2', tcUrl: this.tcUrl, fpad: false, capabilities: 15, audioCodecs: 3191, videoCodecs: 252, videoFunction: 1 }))
      this.step = RtmpStep.Connect
      d = this.hs.leftover()
      if (d.length === 0) return
    }
    this.reader.push(d)
    if (this.total - this.lastAck >= ACK_WINDOW) {
      this.lastAck = this.total
      this.socket!.write(ackMessage(this.total))
    }
  }

  private now = 0

  private onMessage(m: ChunkMessage): void {
    const type = m.typeId
    if (type === 8) return
    if (type === 9) {
      if (m.timestamp > this.lastTs) this.lastTs = m.timestamp
      const p = m.payload
      if (this.ttff < 0 && p.length >= 2 && (p[0] >> 4) === 1 && !((p[0] & 0x0f) === 7 && p[1] === 0)) {
        this.ttff = this.now - this.t0
      }
      return
    }
    if (type !== 20) return
    const cmd = decodeCommand(m.payload, false)
    if (cmd.name === '_error') { this.error = `RTMP _error in step ${this.step}`; this.socket?.destroy(); return }
    if (cmd.name === '_result' && this.step === RtmpStep.Connect) {
      this.socket!.write(encodeChunks(2, 5, 0, 0, u32(ACK_WINDOW), 128)) // window ack size
      this.socket!.write(commandMessage(4096, 3, 0, 'createStream', 2, null))
      this.step = RtmpStep.CreateStream
    } else if (cmd.name === '_result' && this.step === RtmpStep.CreateStream) {
      const id = cmd.args[0]
      if (typeof id === 'number') this.streamId = id
      this.socket!.write(commandMessage(4096, 8, this.streamId, 'play', 0, null, this.stream, -2))
      // set buffer length (user control 3), as ffplay sends it
      const b = Buffer.alloc(10)
      b.writeUInt16BE(3, 0)
      b.writeUInt32BE(this.streamId, 2)
      b.writeUInt32BE(3000, 6)
      this.socket!.write(encodeChunks(2, 4, 0, 0, b, 4096))
      this.step = RtmpStep.Play
    } else if (cmd.name === 'onStatus') {
      const info = cmd.args[0]
      const code = typeof info === 'object' && info !== null && 'code' in info ? String((info as Record<string, unknown>).code) : ''
      if (/Failed|NotFound|Rejected/.test(code)) { this.error = code; this.socket?.destroy() }
    }
  }
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(v >>> 0, 0)
  return b
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const [protocol, host, portS, path, countS, rateS, measureS, settleS] = process.argv.slice(2)
  if (protocol !== 'flv' && protocol !== 'rtmp') throw new Error('usage: players.js <flv|rtmp> host port app/stream count perSecond measureSeconds [settleSeconds]')
  const port = Number(portS)
  const count = Number(countS)
  const rate = Number(rateS)
  const measureMs = Number(measureS) * 1000
  const settleMs = Number(settleS ?? 2) * 1000
  const slash = path.replace(/^\//, '').indexOf('/')
  const clean = path.replace(/^\//, '')
  const app = clean.slice(0, slash)
  const stream = clean.slice(slash + 1)

  const players: Player[] = []
  const readBuffer = Buffer.allocUnsafe(256 * 1024)
  const open = (): void => {
    const p: Player = protocol === 'flv' ? new FlvPlayer() : new RtmpPlayer(app, stream, `rtmp://${host}:${port}/${app}`)
    players.push(p)
    p.t0 = performance.now()
    // onread into one shared buffer: no Buffer allocated per read; the parsers copy what they keep
    const s = connect({
      port, host, onread: {
        buffer: readBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          const now = performance.now()
          if (p.ttfb < 0) p.ttfb = now - p.t0
          p.total += n
          try {
            (p as FlvPlayer | RtmpPlayer).onData((buf as Buffer).subarray(0, n), now)
          } catch (err) {
            p.error = (err as Error).message
            s.destroy()
          }
          return true
        },
      },
    })
    p.socket = s
    s.setNoDelay(true)
    s.on('connect', () => {
      if (p instanceof FlvPlayer) s.write(`GET /${clean} HTTP/1.0\r\nHost: ${host}:${port}\r\n\r\n`)
      else (p as RtmpPlayer).start(s)
    })
    s.on('error', (err) => { if (p.error === '') p.error = err.message })
    s.on('close', () => { if (p.error === '') p.error = 'closed' })
  }

  // ramp: open `rate` players per second in 10 ms batches
  const tStart = performance.now()
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(count, Math.floor(((performance.now() - tStart) / 1000) * rate) + 1)
      while (players.length < due) open()
      if (players.length >= count) { resolve(); return }
      setTimeout(tick, 10)
    }
    tick()
  })
  await new Promise((r) => setTimeout(r, settleMs))

  for (const p of players) p.startBytes = p.total
  const cpu0 = process.cpuUsage()
  const w0 = performance.now()
  process.stderr.write('MEASURE_START\n')
  await new Promise((r) => setTimeout(r, measureMs))
  const cpu = process.cpuUsage(cpu0)
  const windowSeconds = (performance.now() - w0) / 1000
  const report: PlayersReport = {
    protocol,
    count,
    connected: players.filter((p) => p.error === '').length,
    windowSeconds,
    selfCpu: (cpu.user + cpu.system) / 1e6 / windowSeconds,
    players: players.map((p) => ({
      ttfb: Math.round(p.ttfb * 10) / 10,
      ttff: Math.round(p.ttff * 10) / 10,
      bytes: p.total - p.startBytes,
      lastTs: p.lastTs,
      error: p.error,
    })),
  }
  process.stdout.write(JSON.stringify(report) + '\n', () => {
    for (const p of players) p.socket?.destroy()
    process.exit(0)
  })
}

await main()
