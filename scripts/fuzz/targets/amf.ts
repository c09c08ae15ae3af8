// Targets `amf0` and `amf3`: the AMF decoders (lib/amf) and the metadata path a publisher's
// data messages take (lib/live/metadata.ts: readMetadata, rebuildMetadata),
// whose encoder output is searched for the canary. AMF decoding works on whole messages, so
// there is no split check.
import { decodeAmf0, decodeAmf0All } from '../../../lib/amf/amf0.js'
import { decodeAmf3 } from '../../../lib/amf/amf3.js'
import { ProtocolError } from '../../../lib/core/errors.js'
import { readMetadata, rebuildMetadata } from '../../../lib/live/metadata.js'
import { decodeCommand } from '../../../lib/rtmp/commands.js'
import { generateAmf0, generateAmf3 } from '../amfgen.js'
import { readSeeds } from '../corpus.js'
import { Outcome } from '../outcome.js'
import type { Target } from '../target.js'

/** The server name rebuilt metadata carries (meta on). */
const SERVER_NAME = 'edge-fuzz'

/** `@setDataFrame` and `onMetaData` as AMF0 strings, then the avmplus-object-marker */
const SET_DATA_FRAME_AVMPLUS = Buffer.concat([
  Buffer.from([2, 0, 13]), Buffer.from('@setDataFrame'), Buffer.from([2, 0, 10]), Buffer.from('onMetaData'), Buffer.from([0x11]),
])

/** What the live stream does with a publisher's data message body, meta on and meta copy. */
function metadataPath(out: Outcome, body: Buffer): void {
  out.guard('readMetadata', () => {
    const meta = readMetadata(body)
    out.emit(`readMetadata ${meta.kind}`)
    if (meta.kind === 'refused') out.emit(meta.reason)
    if (meta.kind !== 'metadata') return
    out.emit('metadata body (meta copy)', meta.body)
    out.emit(`metadata keys=${Object.keys(meta.values).length}`)
    out.guard('rebuildMetadata', () => out.emit('rebuildMetadata', rebuildMetadata(meta.values, SERVER_NAME)))
  })
}

/** AMF0 value fields of a body: the offset after each top-level value (for integer mutations). */
function amf0Fields(input: Buffer): number[] {
  const fields: number[] = [0]
  let pos = 0
  try {
    while (pos < input.length && fields.length < 64) {
      pos = decodeAmf0(input, pos)[1]
      fields.push(pos, pos + 1)
    }
  } catch (err) {
    // a seed that stops decoding has no more fields to offer; anything else is for run() to find
    if (!(err instanceof ProtocolError)) throw err
  }
  return fields
}

export function amf0Target(): Target {
  let seeds: Buffer[] | null = null
  return {
    name: 'amf0',
    about: 'decodeAmf0 / decodeAmf0All, decodeCommand, and the metadata path (strip, read, rebuild)',
    resumable: false,
    maxInputBytes: 1024 * 1024,
    generatedShare: 0.4,
    seeds() {
      seeds ??= readSeeds('amf0', '.bin')
      return seeds
    },
    fields: amf0Fields,
    generate: generateAmf0,
    run(input) {
      const out = new Outcome()
      out.guard('decodeAmf0All', () => out.emit(`values ${decodeAmf0All(input).length}`))
      out.guard('decodeAmf0', () => out.emit(`first value ends at ${decodeAmf0(input, 0)[1]}`))
      out.guard('decodeCommand', () => out.emit(`command ${JSON.stringify(decodeCommand(input, false).name)}`))
      metadataPath(out, input)
      return out
    },
  }
}

export function amf3Target(): Target {
  let seeds: Buffer[] | null = null
  return {
    name: 'amf3',
    about: 'decodeAmf3, and the same value after @setDataFrame/onMetaData/avmplus through the metadata path',
    resumable: false,
    maxInputBytes: 1024 * 1024,
    generatedShare: 0.5,
    seeds() {
      seeds ??= readSeeds('amf3', '.bin')
      return seeds
    },
    fields: () => [0, 1, 2, 3],
    generate: generateAmf3,
    run(input) {
      const out = new Outcome()
      out.guard('decodeAmf3', () => out.emit(`value ends at ${decodeAmf3(input, 0)[1]}`))
      metadataPath(out, Buffer.concat([SET_DATA_FRAME_AVMPLUS, input]))
      return out
    },
  }
}
