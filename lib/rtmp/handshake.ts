// RTMP handshake, plain (Adobe RTMP spec 5.2) and digest ("complex", Flash Player 9+/FMS), as
// nginx-rtmp's ngx_rtmp_handshake.c does it. Pure state machines: bytes in through push(),
// bytes out through takeOutput(); no sockets, no timers (the session arms the handshake timeout).
//
//   client                                   server (ServerHandshake)
//     C0 (1 byte: 3) + C1 (1536) ───────────▶  C0C1: C0 must be 3; C1 decides plain or digest
//                              ◀───────────  S0 + S1 + S2 in one go (3073 bytes)
//     C2 (1536, not checked) ───────────────▶  C2
//     chunk stream ─────────────────────────▶  DONE: leftover() = bytes after C2
//
// Digest packets (C1/S1), 1536 bytes: time(4) version(4) random(1528) with a 32-byte digest
// somewhere in the random part. Two schemes place it, named by where their offset bytes sit:
//   scheme 8:   offset = (C1[8] + C1[9] + C1[10] + C1[11]) % 728 + 12
//   scheme 772: offset = (C1[772] + ... + C1[775]) % 728 + 776
// digest = HMAC-SHA256(packet without the 32 digest bytes, partial key of the packet's sender).
// Response packets (S2/C2): random(1504) + HMAC-SHA256(random(1504), key) where
// key = HMAC-SHA256(peer's digest, full key of the responder).
//
// Output is pulled, not pushed: after push(), the caller writes every Buffer of takeOutput()
// in order (cork/uncork to send them as one segment). That keeps this module free of callbacks
// and re-entrancy, and tests can look at exactly what would go on the wire.

import { createHmac, randomFillSync } from 'node:crypto'
import { ProtocolError } from '../core/errors.js'

/** C0/S0: the only RTMP version there is. */
export const RTMP_VERSION = 3
/** C1/S1/C2/S2 size (RTMP 5.2.3). */
export const HANDSHAKE_PACKET_BYTES = 1536
/** C0 + C1 (or S0 + S1). */
export const HANDSHAKE_CHALLENGE_BYTES = 1 + HANDSHAKE_PACKET_BYTES
/** HMAC-SHA256 output. */
export const HANDSHAKE_DIGEST_BYTES = 32
/** a 764-byte digest block = 4 offset bytes + 728 positions + the 32-byte digest */
const DIGEST_OFFSET_RANGE = 728

/** nginx-rtmp ngx_rtmp_server_version: bytes 0D 0E 0A 0D in S1[4..7]. */
export const SERVER_VERSION = 0x0d0e0a0d
/** nginx-rtmp / PingOS ngx_rtmp_client_version: bytes 0C 00 0D 0E in C1[4..7] (§2.3). */
export const CLIENT_VERSION = 0x0c000d0e

// The 32 fixed bytes both Adobe keys end with.
const KEY_TAIL = Buffer.from('f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae', 'hex')
/** "Genuine Adobe Flash Media Server 001" + tail: 68 bytes; its first 36 sign S1. */
export const FMS_KEY: Buffer = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001', 'latin1'), KEY_TAIL])
/** "Genuine Adobe Flash Player 001" + tail: 62 bytes; its first 30 sign C1. */
export const FP_KEY: Buffer = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001', 'latin1'), KEY_TAIL])
const FMS_PARTIAL_KEY = FMS_KEY.subarray(0, 36)
const FP_PARTIAL_KEY = FP_KEY.subarray(0, 30)

/** Where the 4 offset bytes of a digest scheme sit in the packet. */
export type DigestScheme = 8 | 772
/** nginx-rtmp tries 772 first, then 8 (ngx_rtmp_handshake_parse_challenge). */
const SCHEMES_TRIED: readonly DigestScheme[] = [772, 8]

export type HandshakeKind = 'simple' | 'complex'

export interface HandshakeOptions {
  /** the time field of our S1/C1 (uint32, ms); nginx-rtmp sends its session epoch. Default: now. */
  epochMs?: number
}

/** Where the digest of `packet` (a 1536-byte C1/S1, without C0/S0) starts under `scheme`. */
export function digestOffset(packet: Buffer, scheme: DigestScheme): number {
  const sum = packet[scheme] + packet[scheme + 1] + packet[scheme + 2] + packet[scheme + 3]
  return (sum % DIGEST_OFFSET_RANGE) + scheme + 4
}

/** HMAC-SHA256 of `packet` with the 32 bytes at `skipAt` left out; no copy of the packet. */
function digestSkipping(packet: Buffer, key: Buffer, skipAt: number): Buffer {
  return createHmac('sha256', key)
    .update(packet.subarray(0, skipAt))
    .update(packet.subarray(skipAt + HANDSHAKE_DIGEST_BYTES))
    .digest()
}

export interface FoundDigest {
  readonly scheme: DigestScheme
  /** a view of the 32 digest bytes inside the packet */
  readonly digest: Buffer
}

/** The valid digest of a C1/S1 signed with `partialKey`, trying scheme 772 then 8; null if none. */
export function findDigest(packet: Buffer, partialKey: Buffer): FoundDigest | null {
  for (const scheme of SCHEMES_TRIED) {
    const at = digestOffset(packet, scheme)
    const digest = packet.subarray(at, at + HANDSHAKE_DIGEST_BYTES)
    if (digestSkipping(packet, partialKey, at).equals(digest)) return { scheme, digest }
  }
  return null
}

/** Signs a C1/S1 in place under `scheme`; returns a view of the digest it wrote. */
export function writeDigest(packet: Buffer, partialKey: Buffer, scheme: DigestScheme): Buffer {
  const at = digestOffset(packet, scheme)
  digestSkipping(packet, partialKey, at).copy(packet, at)
  return packet.subarray(at, at + HANDSHAKE_DIGEST_BYTES)
}

/** Fills an S2/C2 (1536 random bytes already in place) with its trailing response digest. */
function writeResponseDigest(packet: Buffer, peerDigest: Buffer, fullKey: Buffer): void {
  const key = createHmac('sha256', fullKey).update(peerDigest).digest()
  const at = HANDSHAKE_PACKET_BYTES - HANDSHAKE_DIGEST_BYTES
  createHmac('sha256', key).update(packet.subarray(0, at)).digest().copy(packet, at)
}

/** true when the last 32 bytes of an S2/C2 answer `ourDigest` (the digest of our C1/S1). */
export function verifyResponse(packet: Buffer, ourDigest: Buffer, peerFullKey: Buffer): boolean {
  const key = createHmac('sha256', peerFullKey).update(ourDigest).digest()
  const at = HANDSHAKE_PACKET_BYTES - HANDSHAKE_DIGEST_BYTES
  return createHmac('sha256', key).update(packet.subarray(0, at)).digest().equals(packet.subarray(at))
}

/** The first 9 bytes of a challenge: version(1) time(4) version field(4); the rest random. */
function randomChallenge(epochMs: number, version: number): Buffer {
  const out = Buffer.allocUnsafe(HANDSHAKE_CHALLENGE_BYTES)
  out[0] = RTMP_VERSION
  out.writeUInt32BE(epochMs >>> 0, 1)
  out.writeUInt32BE(version >>> 0, 5)
  randomFillSync(out, 9)
  return out
}

function defaultEpoch(opts: HandshakeOptions): number {
  return (opts.epochMs ?? Date.now()) % 2 ** 32
}

function badVersion(byte: number): ProtocolError {
  // nginx-rtmp's log line for the same case
  return new ProtocolError('ERR_RTMP_HANDSHAKE', `handshake: unexpected RTMP version: ${byte}`)
}

/** The peer's version byte, challenge and response: what either side reads before chunks. */
const PEER_HANDSHAKE_BYTES = HANDSHAKE_CHALLENGE_BYTES + HANDSHAKE_PACKET_BYTES

/**
 * What either side reads from its peer: the version byte, checked as soon as it arrives; the
 * challenge (S0 S1 or C0 C1), collected; the response (S2 or C2), skipped unread as nginx-rtmp
 * does; then the chunk stream. A challenge that arrived in one chunk is a view of it; only one
 * split across chunks is copied, once.
 */
class PeerInput {
  private parts: Buffer[] = []
  private have = 0
  private rest: Buffer | null = null

  /**
   * Reads one chunk. `challenge` (without the version byte) on the read that completes it,
   * `done` once the response is complete too. Throws ProtocolError on a bad version byte.
   */
  read(chunk: Buffer): { challenge: Buffer | null, done: boolean } {
    const start = this.have
    if (start === 0 && chunk.length > 0 && chunk[0] !== RTMP_VERSION) throw badVersion(chunk[0])
    const n = Math.min(PEER_HANDSHAKE_BYTES - start, chunk.length)
    this.have += n
    let challenge: Buffer | null = null
    if (start < HANDSHAKE_CHALLENGE_BYTES) {
      const part = chunk.subarray(0, Math.min(n, HANDSHAKE_CHALLENGE_BYTES - start))
      if (this.have < HANDSHAKE_CHALLENGE_BYTES) {
        this.parts.push(part)
      } else {
        // copy: the challenge spans chunks (a view when it came in one)
        const packet = this.parts.length === 0 ? part : Buffer.concat([...this.parts, part], HANDSHAKE_CHALLENGE_BYTES)
        this.parts = []
        challenge = packet.subarray(1)
      }
    }
    if (this.have === PEER_HANDSHAKE_BYTES) this.rest = chunk.subarray(n)
    return { challenge, done: this.rest !== null }
  }

  /** Once done: the bytes that followed the response in the last chunk (a view; may be empty). */
  leftover(): Buffer | null {
    return this.rest
  }
}

export enum ServerHandshakeState {
  /** waiting for C0 + C1 (1537 bytes) */
  C0C1 = 'C0C1',
  /** S0 + S1 + S2 queued; skipping C2 (1536 bytes, not checked, as nginx-rtmp) */
  C2 = 'C2',
  /** leftover() holds the first chunk-stream bytes */
  DONE = 'DONE',
  /** the peer broke the handshake; push() threw the ProtocolError */
  FAILED = 'FAILED',
}

/**
 * The server side of the handshake (ngx_rtmp_handshake.c, server stages).
 *
 * C0 must be 3, checked as soon as it arrives. C1 with version field 0, or with no valid
 * Flash Player digest (scheme 772, then 8), gets the simple answer: S1 = time, zero, random;
 * S2 = C1. Otherwise the digest answer: S1 version 0x0D0E0A0D signed with the FMS key under
 * the client's scheme, S2 random with its response digest. S0 + S1 + S2 are queued together
 * the moment C0 + C1 is complete. C2 is skipped unread; the bytes after it are leftover().
 *
 * Two places where the bytes differ from nginx-rtmp 1.2.2 (Debian's, checked on the wire),
 * both chosen to follow the Adobe spec and what digest clients check: nginx-rtmp answers a
 * simple client with S1 = S2 = C1 (an echo of C1 for both), and signs a digest S1 always under
 * scheme 8 (ngx_rtmp_write_digest), whatever scheme the client used.
 */
export class ServerHandshake {
  private current = ServerHandshakeState.C0C1
  private readonly input = new PeerInput()
  private output: Buffer[] = []
  private readonly epochMs: number
  /** the client's digest, once C1 has been read: null for a simple client */
  private found: FoundDigest | null = null
  private clientVersion = 0
  private clientEpoch = 0

  constructor(opts: HandshakeOptions = {}) {
    this.epochMs = defaultEpoch(opts)
  }

  get state(): ServerHandshakeState {
    return this.current
  }

  /** 'simple' or 'complex' once C1 has been read, else null */
  get kind(): HandshakeKind | null {
    // FAILED happens only before C1 is complete
    if (this.current === ServerHandshakeState.C0C1 || this.current === ServerHandshakeState.FAILED) return null
    return this.found === null ? 'simple' : 'complex'
  }

  /** the scheme of the client's digest (complex handshakes only) */
  get scheme(): DigestScheme | null {
    return this.found?.scheme ?? null
  }

  /** C1's version field (0 for a simple client), for the "peer version" log line */
  get peerVersion(): number {
    return this.clientVersion
  }

  /** C1's time field */
  get peerEpochMs(): number {
    return this.clientEpoch
  }

  /** Consumes handshake bytes; throws ProtocolError('ERR_RTMP_HANDSHAKE') and goes FAILED on a bad C0. */
  push(chunk: Buffer): void {
    if (this.current === ServerHandshakeState.DONE || this.current === ServerHandshakeState.FAILED) {
      throw new Error(`ServerHandshake.push() in state ${this.current}`)
    }
    let got: ReturnType<PeerInput['read']>
    try {
      got = this.input.read(chunk)
    } catch (err) {
      this.current = ServerHandshakeState.FAILED
      throw err
    }
    if (got.challenge !== null) {
      this.respond(got.challenge)
      this.current = ServerHandshakeState.C2
    }
    if (got.done) this.current = ServerHandshakeState.DONE
  }

  /** The bytes to send, in order, since the last call; the queue is emptied. */
  takeOutput(): Buffer[] {
    const out = this.output
    this.output = []
    return out
  }

  /** After DONE: the bytes that followed C2 in the last chunk (a view; may be empty). */
  leftover(): Buffer {
    const rest = this.input.leftover()
    if (rest === null) throw new Error(`ServerHandshake.leftover() in state ${this.current}`)
    return rest
  }

  private respond(c1: Buffer): void {
    this.clientEpoch = c1.readUInt32BE(0)
    this.clientVersion = c1.readUInt32BE(4)
    const found = this.clientVersion === 0 ? null : findDigest(c1, FP_PARTIAL_KEY)
    this.found = found
    if (found === null) {
      // Simple: S1 = time, zero, random; S2 = echo of C1 (a view, sent as is).
      this.output.push(randomChallenge(this.epochMs, 0), c1)
      return
    }
    // S0 + S1 + S2 built in one Buffer: S2 is random too, so one fill covers both.
    const out = Buffer.allocUnsafe(HANDSHAKE_CHALLENGE_BYTES + HANDSHAKE_PACKET_BYTES)
    out[0] = RTMP_VERSION
    out.writeUInt32BE(this.epochMs >>> 0, 1)
    out.writeUInt32BE(SERVER_VERSION, 5)
    randomFillSync(out, 9)
    const s1 = out.subarray(1, HANDSHAKE_CHALLENGE_BYTES)
    writeDigest(s1, FMS_PARTIAL_KEY, found.scheme)
    writeResponseDigest(out.subarray(HANDSHAKE_CHALLENGE_BYTES), found.digest, FMS_KEY)
    this.output.push(out)
  }
}

export enum ClientHandshakeState {
  /** start() not called yet */
  START = 'START',
  /** C0 + C1 sent; waiting for S0 + S1 (1537 bytes) */
  S0S1 = 'S0S1',
  /** skipping S2 (1536 bytes, not checked, as nginx-rtmp's client) */
  S2 = 'S2',
  /** C2 queued; leftover() holds the first chunk-stream bytes */
  DONE = 'DONE',
  /** the peer broke the handshake; push() threw the ProtocolError */
  FAILED = 'FAILED',
}

/**
 * The client side, for relay pulls and pushes, as PingOS's relay sends it (§2.3): C1 with
 * version 0x0C000D0E signed with the Flash Player key (scheme 8). S0 must be 3. S1 is checked
 * for an FMS digest (scheme 772, then 8); a server without one (version 0, or nginx-rtmp
 * answering a simple client) is accepted as simple. After S2, C2 is queued: a response
 * digest packet for a complex server, an echo of S1 for a simple one.
 */
export class ClientHandshake {
  private current = ClientHandshakeState.START
  private readonly input = new PeerInput()
  /** S1 (a view), once read */
  private s1: Buffer | null = null
  /** the server's digest in S1: null for a simple server */
  private found: FoundDigest | null = null
  private output: Buffer[] = []
  private readonly epochMs: number
  private serverVersion = 0

  constructor(opts: HandshakeOptions = {}) {
    this.epochMs = defaultEpoch(opts)
  }

  get state(): ClientHandshakeState {
    return this.current
  }

  /** 'simple' or 'complex' once S1 has been read, else null */
  get kind(): HandshakeKind | null {
    if (this.s1 === null) return null
    return this.found === null ? 'simple' : 'complex'
  }

  /** the scheme of the server's digest (complex handshakes only) */
  get scheme(): DigestScheme | null {
    return this.found?.scheme ?? null
  }

  /** S1's version field */
  get peerVersion(): number {
    return this.serverVersion
  }

  /** C0 + C1, to be written first (1537 bytes). */
  start(): Buffer {
    if (this.current !== ClientHandshakeState.START) throw new Error(`ClientHandshake.start() in state ${this.current}`)
    const c0c1 = randomChallenge(this.epochMs, CLIENT_VERSION)
    writeDigest(c0c1.subarray(1), FP_PARTIAL_KEY, 8)
    this.current = ClientHandshakeState.S0S1
    return c0c1
  }

  /** Consumes S0 S1 S2; throws ProtocolError('ERR_RTMP_HANDSHAKE') and goes FAILED on a bad S0. */
  push(chunk: Buffer): void {
    if (this.current !== ClientHandshakeState.S0S1 && this.current !== ClientHandshakeState.S2) {
      throw new Error(`ClientHandshake.push() in state ${this.current}`)
    }
    let got: ReturnType<PeerInput['read']>
    try {
      got = this.input.read(chunk)
    } catch (err) {
      this.current = ClientHandshakeState.FAILED
      throw err
    }
    if (got.challenge !== null) {
      this.readS1(got.challenge)
      this.current = ClientHandshakeState.S2
    }
    if (got.done) {
      this.output.push(this.makeC2())
      this.current = ClientHandshakeState.DONE
    }
  }

  /** The bytes to send, in order, since the last call (C2 once DONE); the queue is emptied. */
  takeOutput(): Buffer[] {
    const out = this.output
    this.output = []
    return out
  }

  /** After DONE: the bytes that followed S2 in the last chunk (a view; may be empty). */
  leftover(): Buffer {
    const rest = this.input.leftover()
    if (rest === null) throw new Error(`ClientHandshake.leftover() in state ${this.current}`)
    return rest
  }

  private readS1(s1: Buffer): void {
    this.serverVersion = s1.readUInt32BE(4)
    this.found = this.serverVersion === 0 ? null : findDigest(s1, FMS_PARTIAL_KEY)
    this.s1 = s1
  }

  private makeC2(): Buffer {
    // simple server: C2 = echo of S1 (a view, sent as is)
    if (this.found === null) return this.s1 as Buffer
    const c2 = Buffer.allocUnsafe(HANDSHAKE_PACKET_BYTES)
    randomFillSync(c2)
    writeResponseDigest(c2, this.found.digest, FP_KEY)
    return c2
  }
}
