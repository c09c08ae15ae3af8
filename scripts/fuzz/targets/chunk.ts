// Target `chunk`: the RTMP chunk-stream reader (lib/rtmp/chunk-reader.ts) with the limits of a
// default rtmp server, and the command decoding the server session applies to the messages
// it emits (lib/rtmp/commands.ts: decodeCommand, readConnect, splitStreamName, and the
// session's connectTarget).
//
// Seeds: the chunk streams of real captures (ffmpeg publishing and playing, rtmpdump playing,
// and what edge sent rtmpdump), handshake cut off; plus generated streams that use every
// header form (fmt 0-3, 1/2/3-byte basic headers, extended timestamps, interleaved chunk
// streams, Set Chunk Size and Abort).
import { ChunkReader } from '../../../lib/rtmp/chunk-reader.js'
import { decodeCommand, readConnect, splitStreamName } from '../../../lib/rtmp/commands.js'
import { MSG_COMMAND_AMF0, MSG_COMMAND_AMF3, MSG_SET_CHUNK_SIZE } from '../../../lib/rtmp/constants.js'
import { HANDSHAKE_CHALLENGE_BYTES, HANDSHAKE_PACKET_BYTES } from '../../../lib/rtmp/handshake.js'
import { connectTarget } from '../../../lib/rtmp/play-info.js'
import type { RtmpServerConf } from '../../../lib/conf/tree.js'
import { readSeeds } from '../corpus.js'
import { Outcome } from '../outcome.js'
import type { Rng } from '../rng.js'
import type { Target } from '../target.js'
import { treeFromText } from '../tree.js'

/** C0 + C1 + C2 (or S0 + S1 + S2): where the chunk stream of a capture starts */
export const HANDSHAKE_BYTES = HANDSHAKE_CHALLENGE_BYTES + HANDSHAKE_PACKET_BYTES

/** the rtmp server settings the reader is made with: a server block with no directives */
export function defaultRtmpServer(): RtmpServerConf {
  const tree = treeFromText('events {}\nrtmp { server { listen 1935; application live { live on; } } }\n')
  return tree.rtmp?.listeners[0].defaultServer as RtmpServerConf
}

/**
 * Offsets of chunk header fields in a chunk stream, found by following it as a reader would
 * (chunk sizes included); stops where the stream stops making sense.
 */
export function chunkFields(b: Buffer, start = 0): number[] {
  const fields: number[] = []
  const lengths = new Map<number, { length: number, left: number, type: number }>()
  let chunkSize = 128
  let pos = start
  while (pos < b.length && fields.length < 4096) {
    const fmt = b[pos] >> 6
    const low = b[pos] & 0x3f
    const basic = low === 0 ? 2 : low === 1 ? 3 : 1
    const csid = low === 0 ? 64 + (b[pos + 1] ?? 0) : low === 1 ? 64 + (b[pos + 1] ?? 0) + (b[pos + 2] ?? 0) * 256 : low
    fields.push(pos)
    let at = pos + basic
    const st = lengths.get(csid) ?? { length: 0, left: 0, type: 0 }
    let extended = false
    if (fmt <= 2) {
      if (at + 3 > b.length) break
      fields.push(at)
      extended = b.readUIntBE(at, 3) === 0xffffff
      if (fmt <= 1) {
        if (at + 7 > b.length) break
        fields.push(at + 3, at + 6)
        st.length = b.readUIntBE(at + 3, 3)
        st.type = b[at + 6]
        st.left = 0
        if (fmt === 0) fields.push(at + 7)
      }
      at += [11, 7, 3][fmt]
    }
    if (extended) {
      fields.push(at)
      at += 4
    }
    if (st.left === 0) st.left = st.length
    const n = Math.min(chunkSize, st.left)
    if (st.type === MSG_SET_CHUNK_SIZE && n >= 4 && st.left === st.length && at + 4 <= b.length) {
      fields.push(at)
      const size = b.readUInt32BE(at)
      if (size > 0 && size < 0x80000000) chunkSize = size
    }
    st.left -= n
    lengths.set(csid, st)
    pos = at + n
  }
  return fields
}

interface ChunkHeader {
  /** offset of the basic header */
  readonly pos: number
  readonly fmt: number
  readonly csid: number
  /** basic + message header + extended timestamp */
  readonly bytes: number
}

/** The chunk headers of a chunk stream, followed as chunkFields follows them. */
export function chunkHeaders(b: Buffer): ChunkHeader[] {
  const headers: ChunkHeader[] = []
  const state = new Map<number, { length: number, left: number, type: number, extended: boolean }>()
  let chunkSize = 128
  let pos = 0
  while (pos < b.length && headers.length < 4096) {
    const fmt = b[pos] >> 6
    const low = b[pos] & 0x3f
    const basic = low === 0 ? 2 : low === 1 ? 3 : 1
    const csid = low === 0 ? 64 + (b[pos + 1] ?? 0) : low === 1 ? 64 + (b[pos + 1] ?? 0) + (b[pos + 2] ?? 0) * 256 : low
    const st = state.get(csid) ?? { length: 0, left: 0, type: 0, extended: false }
    let at = pos + basic
    if (fmt <= 2) {
      if (at + [11, 7, 3][fmt] > b.length) break
      st.extended = b.readUIntBE(at, 3) === 0xffffff
      if (fmt <= 1) {
        st.length = b.readUIntBE(at + 3, 3)
        st.type = b[at + 6]
        st.left = 0
      }
      at += [11, 7, 3][fmt]
    }
    if (st.extended) at += 4
    headers.push({ pos, fmt, csid, bytes: at - pos })
    if (st.left === 0) st.left = st.length
    const n = Math.min(chunkSize, st.left)
    if (st.type === MSG_SET_CHUNK_SIZE && n >= 4 && st.left === st.length && at + 4 <= b.length) {
      const size = b.readUInt32BE(at)
      if (size > 0 && size < 0x80000000) chunkSize = size
    }
    st.left -= n
    state.set(csid, st)
    pos = at + n
  }
  return headers
}

const u24 = (v: number): Buffer => Buffer.from([(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff])

function basicHeader(rng: Rng, fmt: number, csid: number): Buffer {
  if (csid >= 2 && csid <= 63 && rng.chance(0.9)) return Buffer.from([(fmt << 6) | csid])
  if (csid >= 64 && csid < 320 && rng.chance(0.7)) return Buffer.from([fmt << 6, csid - 64])
  const v = Math.max(0, csid - 64)
  return Buffer.from([(fmt << 6) | 1, v & 0xff, (v >> 8) & 0xff])
}

/** a message length: mostly near `around`, sometimes at a field edge */
function lengthNear(rng: Rng, around: number): number {
  if (rng.chance(0.3)) return rng.pick([0, 1, 4, 127, 128, 129, 4096, 0xffff, 0x10000, 0xffffff])
  return Math.max(0, around + rng.range(-around, 256))
}

/** A message header of form `fmt` (5.3.1.2), with an extended timestamp when `ts` needs one. */
function messageHeader(rng: Rng, fmt: number, ts: number, length: number, type: number, streamId: number): Buffer {
  const ext = ts >= 0xffffff
  const parts: Buffer[] = []
  if (fmt <= 2) parts.push(u24(ext ? 0xffffff : ts))
  if (fmt <= 1) parts.push(u24(length), Buffer.from([type]))
  if (fmt === 0) {
    const sid = Buffer.alloc(4)
    sid.writeUInt32LE(streamId >>> 0)
    parts.push(sid)
  }
  if (ext && (fmt <= 2 || rng.chance(0.8))) {
    const e = Buffer.alloc(4)
    e.writeUInt32BE(ts >>> 0)
    parts.push(e)
  }
  return Buffer.concat(parts)
}

interface InFlight {
  readonly csid: number
  readonly type: number
  readonly ts: number
  readonly payload: Buffer
  sent: number
}

/**
 * A chunk stream of random messages sent the way servers send them: several chunk streams
 * interleaved chunk by chunk, every header form, extended timestamps, Set Chunk Size and Abort,
 * and now and then a header that announces a message anew in the middle of one.
 */
function syntheticChunkStream(rng: Rng): Buffer {
  const parts: Buffer[] = []
  let chunkSize = 128
  const last = new Map<number, { length: number, type: number }>()
  const flying: InFlight[] = []
  let toStart = 1 + rng.small(24)
  while (toStart > 0 || flying.length > 0) {
    if (toStart > 0 && (flying.length === 0 || rng.chance(0.4))) {
      toStart--
      const busy = new Set(flying.map((f) => f.csid))
      let csid = rng.chance(0.7) ? rng.range(2, 8) : rng.chance(0.5) ? rng.range(64, 400) : rng.range(2, 65599)
      if (busy.has(csid) && rng.chance(0.9)) csid = 9 + rng.int(50) + 256 * busy.size
      const kind = rng.int(10)
      let type = rng.pick([8, 9, 18, 20, 4, 5, 3, 6, 15, 17, 22])
      let payload = rng.bytes(rng.small(kind === 0 ? 70000 : 600))
      if (kind === 1) {
        type = MSG_SET_CHUNK_SIZE
        payload = Buffer.alloc(4)
        payload.writeUInt32BE(rng.pick([1, 2, 16, 127, 128, 129, 4096, 65536, 0x7fffffff, 0, 0x80000000, rng.u32()]) >>> 0)
      } else if (kind === 2) {
        type = 2 // Abort: a chunk stream id, perhaps one with a message half sent
        payload = Buffer.alloc(4)
        payload.writeUInt32BE(rng.pick([...flying.map((f) => f.csid), csid, rng.u32()]) >>> 0)
      }
      const ts = rng.chance(0.15) ? rng.pick([0xffffff, 0x1000000, 0xffffffff, rng.u32()]) : rng.small(100000)
      const prev = last.get(csid)
      let fmt = prev === undefined || rng.chance(0.3) ? 0 : rng.chance(0.4) ? 1 : prev.length === payload.length && prev.type === type ? rng.pick([2, 3]) : 1
      if (rng.chance(0.05)) fmt = rng.int(4) // sometimes a form the history does not allow
      parts.push(basicHeader(rng, fmt, csid), messageHeader(rng, fmt, ts, payload.length, type, rng.chance(0.8) ? (type <= 6 ? 0 : 1) : rng.u32()))
      last.set(csid, { length: payload.length, type })
      flying.push({ csid, type, ts, payload, sent: 0 })
    } else {
      const i = rng.int(flying.length)
      const f = flying[i]
      if (f.sent > 0) {
        // a continuation: fmt 3 as it should be, or now and then a header announcing the message anew
        const fmt = rng.chance(0.03) ? rng.int(3) : 3
        const length = fmt <= 1 ? lengthNear(rng, f.payload.length) : f.payload.length
        parts.push(basicHeader(rng, fmt, f.csid), messageHeader(rng, fmt, f.ts, length, f.type, 1))
      }
      const n = Math.min(chunkSize, f.payload.length - f.sent)
      parts.push(f.payload.subarray(f.sent, f.sent + n))
      f.sent += n
      if (f.sent >= f.payload.length || rng.chance(0.002)) {
        flying.splice(i, 1)
        if (f.type === MSG_SET_CHUNK_SIZE && f.payload.length >= 4) {
          const size = f.payload.readUInt32BE(0)
          if (size > 0 && size < 0x80000000) chunkSize = Math.min(size, 1 << 20)
        }
      }
    }
    if (rng.chance(0.005)) break
  }
  return Buffer.concat(parts)
}

/** A seed whose chunk headers (1 to 3 of them) are rewritten in another form (fmt 0..3), csid kept. */
export function reformedHeaders(rng: Rng, seed: Buffer): Buffer {
  const headers = chunkHeaders(seed)
  if (headers.length === 0) return seed
  const continuations = headers.filter((h) => h.fmt === 3)
  const picked = new Set<ChunkHeader>()
  const count = 1 + rng.small(2)
  for (let i = 0; i < count; i++) picked.add(continuations.length > 0 && rng.chance(0.8) ? rng.pick(continuations) : rng.pick(headers))
  const parts: Buffer[] = []
  let pos = 0
  for (const h of [...picked].sort((a, b) => a.pos - b.pos)) {
    const fmt = rng.int(4)
    const ts = rng.chance(0.1) ? 0xffffff + rng.small(16) : rng.small(1000)
    const length = lengthNear(rng, rng.small(4096))
    parts.push(seed.subarray(pos, h.pos), basicHeader(rng, fmt, h.csid), messageHeader(rng, fmt, ts, length, rng.pick([8, 9, 18, 20, 1]), 1))
    pos = h.pos + h.bytes
  }
  parts.push(seed.subarray(pos))
  return Buffer.concat(parts)
}

export function chunkTarget(): Target {
  const server = defaultRtmpServer()
  let seeds: Buffer[] | null = null
  return {
    name: 'chunk',
    about: 'RTMP ChunkReader (default server limits) + command decoding of the messages it emits',
    resumable: true,
    maxInputBytes: 256 * 1024,
    generatedShare: 0.25,
    seeds() {
      seeds ??= readSeeds('rtmp', '.bin').map((b) => b.subarray(HANDSHAKE_BYTES))
      return seeds
    },
    fields: (input) => chunkFields(input),
    generate(rng) {
      const seeds = this.seeds()
      return rng.chance(0.5) ? syntheticChunkStream(rng) : reformedHeaders(rng, rng.pick(seeds))
    },
    run(input, cut) {
      const out = new Outcome()
      const reader = new ChunkReader({
        maxMessageBytes: server.maxMessageBytes,
        maxStreams: server.maxStreams,
        extendedOnType3: server.publishTimeFix,
        onMessage: (m) => {
          out.emit(`message csid=${m.csid} type=${m.typeId} stream=${m.streamId} ts=${m.timestamp}`, m.payload)
          if (m.typeId === MSG_COMMAND_AMF0 || m.typeId === MSG_COMMAND_AMF3) {
            out.guard('decodeCommand', () => {
              const cmd = decodeCommand(m.payload, m.typeId === MSG_COMMAND_AMF3)
              out.emit(`command ${JSON.stringify(cmd.name)} txn=${cmd.transactionId} args=${cmd.args.length}`)
              if (cmd.name === 'connect') {
                const t = connectTarget(readConnect(cmd))
                out.emit(`connect app=${JSON.stringify(t.app)} args=${JSON.stringify(t.args)} domain=${JSON.stringify(t.domain)}`)
              } else if (cmd.name === 'play' || cmd.name === 'publish') {
                const s = splitStreamName(cmd.args[0])
                out.emit(`${cmd.name} name=${JSON.stringify(s.name)} args=${JSON.stringify(s.args)}`)
              }
            })
          }
        },
      })
      for (const piece of cut === null ? [input] : [input.subarray(0, cut), input.subarray(cut)]) {
        if (out.guard('ChunkReader.push', () => reader.push(piece))) break
      }
      out.emit(`end chunkSize=${reader.inChunkSize} buffered=${reader.bytesBuffered}`)
      return out
    },
  }
}
