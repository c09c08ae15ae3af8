// RTMP commands and control messages as PingOS sends and reads them (§7.1-7.3): decoding the
// client's connect/play/publish, encoding _result, onStatus and protocol control messages.
import { decodeAmf0All, encodeAmf0, type AmfObject, type AmfValue } from '../amf/amf0.js'
import { ProtocolError } from '../core/errors.js'
import { encodeChunks } from './chunk-writer.js'
import {
  CSID_COMMAND, CSID_PROTOCOL, CSID_STATUS, MSG_ACK, MSG_COMMAND_AMF0, MSG_DATA_AMF0, MSG_SET_CHUNK_SIZE,
  MSG_SET_PEER_BANDWIDTH, MSG_USER_CONTROL, MSG_WINDOW_ACK_SIZE, STREAM_ID,
} from './constants.js'

export interface Command {
  readonly name: string
  readonly transactionId: number
  /** the command object (connect) or null */
  readonly object: AmfValue
  readonly args: readonly AmfValue[]
}

/** Decode an AMF0 command message body; type 17 (AMF3 command) starts with one format byte. */
export function decodeCommand(payload: Buffer, amf3: boolean): Command {
  const values = decodeAmf0All(amf3 && payload.length > 0 && payload[0] === 0 ? payload.subarray(1) : payload)
  const [name, txn, object, ...args] = values
  if (typeof name !== 'string') throw new ProtocolError('ERR_RTMP_COMMAND', 'command name is not a string')
  return { name, transactionId: typeof txn === 'number' ? txn : 0, object: object ?? null, args }
}

/** The fields of `connect` that PingOS reads (§7.1). */
export interface ConnectInfo {
  readonly app: string
  readonly flashVer: string
  readonly swfUrl: string
  readonly tcUrl: string
  readonly pageUrl: string
  readonly objectEncoding: number
  readonly audioCodecs: number
  readonly videoCodecs: number
}

function field(o: AmfObject, key: string): string {
  const v = o[key]
  return typeof v === 'string' ? v : ''
}

function numberField(o: AmfObject, key: string, fallback: number): number {
  const v = o[key]
  return typeof v === 'number' ? v : fallback
}

export function readConnect(cmd: Command): ConnectInfo {
  const o = (typeof cmd.object === 'object' && cmd.object !== null && !Array.isArray(cmd.object) && !(cmd.object instanceof Date)
    ? cmd.object
    : {}) as AmfObject
  return {
    app: field(o, 'app'),
    flashVer: field(o, 'flashVer') || field(o, 'flashver'),
    swfUrl: field(o, 'swfUrl'),
    tcUrl: field(o, 'tcUrl') || field(o, 'tcurl'),
    pageUrl: field(o, 'pageUrl'),
    objectEncoding: numberField(o, 'objectEncoding', 0),
    audioCodecs: numberField(o, 'audioCodecs', 0),
    videoCodecs: numberField(o, 'videoCodecs', 0),
  }
}

/** The stream name argument of play/publish: name up to "?", and the query after it. */
export function splitStreamName(arg: AmfValue): { name: string, args: string } {
  const s = typeof arg === 'string' ? arg : ''
  const q = s.indexOf('?')
  return q === -1 ? { name: s, args: '' } : { name: s.slice(0, q), args: s.slice(q + 1) }
}

// ---- outgoing --------------------------------------------------------------------------------

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(value >>> 0, 0)
  return b
}

export function setChunkSizeMessage(size: number): Buffer {
  return encodeChunks(CSID_PROTOCOL, MSG_SET_CHUNK_SIZE, 0, 0, u32(size), 128)
}

export function windowAckSizeMessage(size: number): Buffer {
  return encodeChunks(CSID_PROTOCOL, MSG_WINDOW_ACK_SIZE, 0, 0, u32(size), 128)
}

export function ackMessage(bytesReceived: number): Buffer {
  return encodeChunks(CSID_PROTOCOL, MSG_ACK, 0, 0, u32(bytesReceived), 128)
}

/** Set Peer Bandwidth; limit type 2 = dynamic, as PingOS sends it */
export function setPeerBandwidthMessage(size: number, limitType = 2): Buffer {
  const b = Buffer.allocUnsafe(5)
  b.writeUInt32BE(size, 0)
  b[4] = limitType
  return encodeChunks(CSID_PROTOCOL, MSG_SET_PEER_BANDWIDTH, 0, 0, b, 128)
}

/** User control event (RTMP 7.1.7) with a 32-bit argument (stream id or timestamp). */
export function userControlMessage(event: number, value: number, chunkSize: number, extra?: number): Buffer {
  const b = Buffer.allocUnsafe(extra === undefined ? 6 : 10)
  b.writeUInt16BE(event, 0)
  b.writeUInt32BE(value >>> 0, 2)
  if (extra !== undefined) b.writeUInt32BE(extra >>> 0, 6)
  return encodeChunks(CSID_PROTOCOL, MSG_USER_CONTROL, 0, 0, b, chunkSize)
}

export function commandMessage(chunkSize: number, csid: number, streamId: number, ...values: AmfValue[]): Buffer {
  return encodeChunks(csid, MSG_COMMAND_AMF0, streamId, 0, encodeAmf0(...values), chunkSize)
}

/** `_result` of connect (§7.1): properties and info in PingOS's key order. */
export function connectResultMessage(chunkSize: number, transactionId: number, objectEncoding: number): Buffer {
  return commandMessage(chunkSize, CSID_COMMAND, 0, '_result', transactionId,
    { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
    { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding })
}

export function resultMessage(chunkSize: number, transactionId: number, ...values: AmfValue[]): Buffer {
  return commandMessage(chunkSize, CSID_COMMAND, 0, '_result', transactionId, ...values)
}

export type StatusLevel = 'status' | 'error' | 'warning'

/** onStatus, transaction 0, null, {level, code, description} on chunk stream 5, stream 1 (§7.3). */
export function statusMessage(chunkSize: number, level: StatusLevel, code: string, description: string): Buffer {
  return commandMessage(chunkSize, CSID_STATUS, STREAM_ID, 'onStatus', 0, null, { level, code, description })
}

/** `|RtmpSampleAccess(true, true)`, sent after NetStream.Play.Start. */
export function sampleAccessMessage(chunkSize: number): Buffer {
  return encodeChunks(CSID_STATUS, MSG_DATA_AMF0, STREAM_ID, 0, encodeAmf0('|RtmpSampleAccess', true, true), chunkSize)
}
