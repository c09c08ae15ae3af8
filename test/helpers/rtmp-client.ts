// A scriptable RTMP client for protocol-level assertions (message order, status codes). It
// is built from edge's own codecs, so it proves nothing about interop: that is what the
// ffmpeg, ffprobe and rtmpdump tests are for.
import { once } from 'node:events'
import { connect as tcpConnect, type Socket } from 'node:net'
import { decodeAmf0All, encodeAmf0, type AmfValue } from '../../lib/amf/amf0.js'
import { ChunkReader, type ChunkMessage } from '../../lib/rtmp/chunk-reader.js'
import { encodeChunks } from '../../lib/rtmp/chunk-writer.js'
import { MSG_COMMAND_AMF0, MSG_DATA_AMF0, MSG_SET_CHUNK_SIZE } from '../../lib/rtmp/constants.js'
import { ClientHandshake, ClientHandshakeState } from '../../lib/rtmp/handshake.js'

export interface Received extends ChunkMessage {
  /** AMF0 values of command and data messages */
  readonly values: AmfValue[] | null
}

export class RtmpTestClient {
  readonly messages: Received[] = []
  private readonly reader = new ChunkReader({
    maxMessageBytes: 64 * 1024 * 1024, maxStreams: 65600, extendedOnType3: true,
    onMessage: (m) => this.onMessage(m),
  })
  private readonly hs = new ClientHandshake()
  private waiters: (() => void)[] = []
  outChunkSize = 128
  closed = false

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('close', () => { this.closed = true; this.wake() })
    socket.on('error', () => {})
  }

  /** TCP connect and handshake; resolves when the chunk stream can start. */
  static async open(port: number): Promise<RtmpTestClient> {
    const socket = tcpConnect(port, '127.0.0.1')
    await once(socket, 'connect')
    const c = new RtmpTestClient(socket)
    socket.write(c.hs.start())
    await c.until(() => c.hs.state === ClientHandshakeState.DONE || c.closed, 5000, 'handshake')
    return c
  }

  private onData(d: Buffer): void {
    if (this.hs.state !== ClientHandshakeState.DONE) {
      this.hs.push(d)
      for (const out of this.hs.takeOutput()) this.socket.write(out)
      // push() moves the state on; re-read it
      if ((this.hs.state as ClientHandshakeState) === ClientHandshakeState.DONE) {
        const rest = this.hs.leftover()
        if (rest.length > 0) this.reader.push(rest)
      }
    } else {
      this.reader.push(d)
    }
    this.wake()
  }

  private onMessage(m: ChunkMessage): void {
    const amf = m.typeId === MSG_COMMAND_AMF0 || m.typeId === MSG_DATA_AMF0
    // copy: the test keeps messages after the socket buffer is gone
    this.messages.push({ ...m, payload: Buffer.from(m.payload), values: amf ? decodeAmf0All(m.payload) : null })
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Wait until `cond()` holds, re-checked on every input; rejects after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!cond()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
  }

  /** The first received message (from index `from`) matching `pred`, waiting for it. */
  async next(pred: (m: Received) => boolean, timeoutMs = 5000, from = 0): Promise<Received> {
    let found: Received | undefined
    await this.until(() => (found = this.messages.slice(from).find(pred)) !== undefined || this.closed, timeoutMs, 'a message')
    if (found === undefined) throw new Error('connection closed before the message arrived')
    return found
  }

  send(csid: number, typeId: number, streamId: number, timestamp: number, payload: Buffer): void {
    this.socket.write(encodeChunks(csid, typeId, streamId, timestamp, payload, this.outChunkSize))
  }

  command(streamId: number, ...values: AmfValue[]): void {
    this.send(streamId === 0 ? 3 : 8, MSG_COMMAND_AMF0, streamId, 0, encodeAmf0(...values))
  }

  setChunkSize(size: number): void {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(size, 0)
    this.send(2, MSG_SET_CHUNK_SIZE, 0, 0, b)
    this.outChunkSize = size
  }

  /** connect(app) and wait for its _result or _error. */
  async connectApp(app: string, extra: Record<string, AmfValue> = {}, port = 0): Promise<Received> {
    this.command(0, 'connect', 1, { app, flashVer: 'LNX 9,0,124,2', tcUrl: `rtmp://127.0.0.1${port ? `:${port}` : ''}/${app}`, objectEncoding: 0, ...extra })
    return this.next((m) => m.values?.[0] === '_result' || m.values?.[0] === '_error')
  }

  /** createStream + play(name); resolves with the first onStatus. */
  async play(name: string): Promise<Received> {
    const from = this.messages.length
    this.command(0, 'createStream', 2, null)
    await this.next((m) => m.values?.[0] === '_result' && m.values?.[1] === 2, 5000, from)
    this.command(1, 'play', 0, null, name, -2000)
    return this.next((m) => m.values?.[0] === 'onStatus', 5000, from)
  }

  /** createStream + publish(name); resolves with the first onStatus. */
  async publish(name: string): Promise<Received> {
    const from = this.messages.length
    this.command(0, 'createStream', 2, null)
    await this.next((m) => m.values?.[0] === '_result' && m.values?.[1] === 2, 5000, from)
    this.command(1, 'publish', 0, null, name, 'live')
    return this.next((m) => m.values?.[0] === 'onStatus', 5000, from)
  }

  /** the info object's code of an onStatus message */
  static code(m: Received): string {
    const info = m.values?.[3] as { code?: string } | undefined
    return info?.code ?? ''
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.socket.destroy()
      await this.until(() => this.closed, 2000, 'close')
    }
  }
}
