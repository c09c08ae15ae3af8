// What a stream carried, counted where it passes (the publish and send paths): rtmp_stat's
// bytes_in / bytes_out / bw_audio / bw_video and the metrics are read from these counters.

export class Traffic {
  /** payload bytes of the active publisher's audio, video and data messages */
  bytesIn = 0
  audioIn = 0
  videoIn = 0
  /** payload bytes of the frames fanned out, times the players they went to (push legs and recorders included) */
  bytesOut = 0
}
