// RTMP wire constants, named as the spec (Adobe RTMP 1.0, §5.4, §6, §7) and nginx-rtmp name them.

// Protocol control messages (5.4) and user control (6.2)
export const MSG_SET_CHUNK_SIZE = 1
export const MSG_ABORT = 2
export const MSG_ACK = 3
export const MSG_USER_CONTROL = 4
export const MSG_WINDOW_ACK_SIZE = 5
export const MSG_SET_PEER_BANDWIDTH = 6
// Media and commands (7.1)
export const MSG_AUDIO = 8
export const MSG_VIDEO = 9
export const MSG_DATA_AMF3 = 15
export const MSG_SHARED_OBJECT_AMF3 = 16
export const MSG_COMMAND_AMF3 = 17
export const MSG_DATA_AMF0 = 18
export const MSG_SHARED_OBJECT_AMF0 = 19
export const MSG_COMMAND_AMF0 = 20
export const MSG_AGGREGATE = 22

// User control event types (7.1.7)
export const UC_STREAM_BEGIN = 0
export const UC_STREAM_EOF = 1
export const UC_STREAM_DRY = 2
export const UC_SET_BUFFER_LENGTH = 3
export const UC_STREAM_IS_RECORDED = 4
export const UC_PING_REQUEST = 6
export const UC_PING_RESPONSE = 7

// Chunk stream ids nginx-rtmp uses for what it sends (ngx_rtmp.h NGX_RTMP_CSID_*)
export const CSID_PROTOCOL = 2
export const CSID_COMMAND = 3
export const CSID_STATUS = 5
export const CSID_AUDIO = 6
export const CSID_VIDEO = 7

/** The chunk size both directions start with (5.4.1). */
export const DEFAULT_CHUNK_SIZE = 128
/** Largest chunk size a peer may announce: 31 bits, the top bit must be zero (5.4.1). */
export const MAX_CHUNK_SIZE = 0x7fffffff
/** A 24-bit timestamp field of 0xFFFFFF means a 4-byte extended timestamp follows (5.3.1.3). */
export const EXTENDED_TIMESTAMP = 0xffffff

/** Message stream id of the one stream a session creates (PingOS always answers 1). */
export const STREAM_ID = 1
