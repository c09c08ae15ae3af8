// RTMP 5.4.3, the receiving side of acknowledgements: the peer's Window Ack Size says how many
// bytes it may send between two Acknowledgements from us. One per session, either side.
import { ackMessage } from './commands.js'

export class AckWindow {
  /** the peer's Window Ack Size; 0 (no Acknowledgements) until it announces one */
  private window = 0
  private counted = 0
  private acked = 0

  /** A Window Ack Size message from the peer; a short one is ignored, as nginx-rtmp does. */
  setWindow(payload: Buffer): void {
    if (payload.length >= 4) this.window = payload.readUInt32BE(0)
  }

  /** Counts bytes received: the caller decides which (nginx-rtmp's in_bytes: chunk stream only). */
  count(bytes: number): void {
    this.counted += bytes
  }

  /**
   * The Acknowledgement due once a window has been received since the last one, else null.
   * Its sequence number is the count so far, wrapping at 32 bits as nginx-rtmp's.
   */
  due(): Buffer | null {
    if (this.window === 0 || this.counted - this.acked < this.window) return null
    this.acked = this.counted
    return ackMessage(this.counted)
  }
}
