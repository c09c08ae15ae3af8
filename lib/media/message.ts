// A media message as the live hub sees it, whatever protocol it came in on: RTMP message
// type, timestamp and payload. The payload is a view; see STYLE rule 3 about copies.

/** RTMP message type ids of media and data (RTMP spec 7.1, FLV tag types). */
export const MSG_AUDIO = 8
export const MSG_VIDEO = 9
export const MSG_DATA_AMF3 = 15
export const MSG_DATA_AMF0 = 18

export type MediaTypeId = typeof MSG_AUDIO | typeof MSG_VIDEO | typeof MSG_DATA_AMF3 | typeof MSG_DATA_AMF0

export interface MediaMessage {
  readonly typeId: MediaTypeId
  /** milliseconds, 32-bit wrapping as on the wire */
  readonly timestamp: number
  /** the message body (FLV tag data), a view that must not be changed once handed over */
  readonly payload: Buffer
}
