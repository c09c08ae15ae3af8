// Target `flv`: the resumable FLV tag reader of HTTP-FLV pulls (lib/flv/reader.ts), with the
// tag-size limit a pull gives it (the rtmp server's max_message), and what the live stream
// does next with each tag: codec inspection of audio and video (lib/media/codec.ts) and the
// metadata path of script tags.
import { FlvReader } from '../../../lib/flv/reader.js'
import { readMetadata } from '../../../lib/live/metadata.js'
import { MSG_AUDIO, MSG_DATA_AMF0, MSG_VIDEO } from '../../../lib/media/message.js'
import { inspectAudio, inspectVideo } from '../../../lib/media/codec.js'
import { FLV_HEADER_BYTES, FLV_PREV_TAG_SIZE_BYTES, FLV_TAG_HEADER_BYTES } from '../../../lib/flv/tag.js'
import { readSeeds } from '../corpus.js'
import { Outcome } from '../outcome.js'
import type { Target } from '../target.js'
import { defaultRtmpServer } from './chunk.js'

/** Offsets of the header, PreviousTagSize and tag header fields, following the tag sizes. */
export function flvFields(b: Buffer): number[] {
  const fields = [0, 3, 4, 5]
  let pos = FLV_HEADER_BYTES
  while (pos + FLV_PREV_TAG_SIZE_BYTES + FLV_TAG_HEADER_BYTES <= b.length && fields.length < 4096) {
    const tag = pos + FLV_PREV_TAG_SIZE_BYTES
    // PreviousTagSize, TagType, DataSize, Timestamp, TimestampExtended, StreamID, first body byte
    fields.push(pos, tag, tag + 1, tag + 4, tag + 7, tag + 8, tag + 11)
    pos = tag + FLV_TAG_HEADER_BYTES + b.readUIntBE(tag + 1, 3)
  }
  return fields
}

export function flvTarget(): Target {
  const maxTagBytes = defaultRtmpServer().maxMessageBytes
  let seeds: Buffer[] | null = null
  return {
    name: 'flv',
    about: 'FlvReader (max tag = default max_message) + codec inspection + metadata path of script tags',
    resumable: true,
    maxInputBytes: 256 * 1024,
    generatedShare: 0,
    seeds() {
      seeds ??= readSeeds('flv', '.flv')
      return seeds
    },
    fields: flvFields,
    run(input, cut) {
      const out = new Outcome()
      const reader = new FlvReader({ maxTagBytes })
      const drain = (): void => {
        for (const tag of reader.drain()) {
          out.emit(`tag type=${tag.typeId} ts=${tag.timestamp}`, tag.payload)
          if (tag.typeId === MSG_VIDEO) out.guard('inspectVideo', () => out.emit(`video ${JSON.stringify(inspectVideo(tag.payload))}`))
          else if (tag.typeId === MSG_AUDIO) out.guard('inspectAudio', () => out.emit(`audio ${JSON.stringify(inspectAudio(tag.payload))}`))
          else if (tag.typeId === MSG_DATA_AMF0) {
            out.guard('readMetadata', () => {
              const meta = readMetadata(tag.payload)
              out.emit(`metadata ${meta.kind}`, meta.kind === 'metadata' ? meta.body : null)
            })
          }
        }
      }
      for (const piece of cut === null ? [input] : [input.subarray(0, cut), input.subarray(cut)]) {
        try {
          reader.push(piece)
        } catch (err) {
          drain() // tags completed before the failure are handed over first
          out.caught('FlvReader.push', err)
          break
        }
        drain()
      }
      out.emit(`end state=${reader.state} buffered=${reader.bytesBuffered}`)
      return out
    },
  }
}
