// The live stages of the pipelines: live.enter (find or create the stream and hold it while the
// other stages run), live.play (join as a player: the cached burst follows) and live.publish
// (join as a publisher). Leaving is registered here too: the request's close leaves the stream,
// and the hub forgets it when nobody is left.
import type { MediaMessage } from '../media/message.js'
import { WAIT, type PlayFailure, type Stage, type StageRequest } from '../stages.js'
import { streamKey, type Hub } from './hub.js'
import type { LiveOptions, LiveStream } from './stream.js'
import { member, type PublisherHandle } from './publisher.js'
import type { Player, Sink } from './player.js'
import type { AppConf, RtmpServerConf } from '../conf/tree.js'

/** A player's control of its play (RTMP pause / unpause). */
export interface PlayControl {
  pause(): void
  resume(): void
}

/** Where a publisher's messages go once it joined. */
export interface Publishing {
  media(msg: MediaMessage): void
  /** a data message (onMetaData); returns why it was refused, or null */
  data(msg: MediaMessage): string | null
}

/** A player as the play pipeline sees it: the stream writes to it; it is told when the play starts. */
export interface PlayClient extends Sink {
  /** joined: `control` pauses and resumes it */
  joined(control: PlayControl): void
  /** rtmp_control redirect: leave this stream and play the one `target` names */
  redirect(target: string): void
}

/** A publisher as the publish pipeline sees it. */
export interface PublishClient {
  /** joined as the publisher: its messages go to `into` from now on */
  publishing(into: Publishing): void
  /** an onStatus for the publisher (record_notify: NetStream.Record.Start / Stop) */
  notice(level: string, code: string, description: string): void
  /** the stream ends under it */
  close(reason: string): void
  /** rtmp_control redirect: publish as `target` instead, `carry` (metadata, headers) first */
  redirect(target: string, carry: readonly MediaMessage[]): void
}

export type PlayRequest = StageRequest<LiveStream, PlayClient>
export type PublishRequest = StageRequest<LiveStream, PublishClient>

/** idle_streams off and nothing to play (§7.3, §4.8). */
const STREAM_NOT_FOUND: PlayFailure = {
  level: 'error', code: 'NetStream.Play.StreamNotFound', description: 'No such stream', viaError: false, httpStatus: 404,
}

/** A second publisher of the same priority (§7.2): told, kept connected, its media ignored. */
const ALREADY_PUBLISHING: PlayFailure = {
  level: 'error', code: 'NetStream.Publish.BadName', description: 'Already publishing', viaError: false, httpStatus: 400, keepConnection: true,
}

/** why a session dropped by rtmp_control closes (its log line) */
const DROPPED = 'dropped by rtmp_control'

/** pubpri of the publish query (§7.2): higher wins. */
function publishPriority(pargs: string): number {
  const m = /(?:^|&)pubpri=(-?\d+)/.exec(pargs)
  return m === null ? 0 : Number(m[1])
}

export class LiveStages {
  constructor(private readonly hub: Hub, private readonly options: (server: RtmpServerConf, app: AppConf) => LiveOptions) {}

  /** live.enter: `live off` lets nobody join (§1.6); else the stream is found or created and held. */
  readonly enter: Stage<StageRequest<LiveStream, { close(reason: string): void }>> = (req) => {
    if (!req.app.live) return WAIT
    const { info } = req
    const { stream, created } = this.hub.acquire(streamKey(info.serverId, info.app, info.name), this.options(req.server, req.app), info.app, info.name)
    req.stream = stream
    req.created = created
    const letGo = stream.hold(req.action, (reason) => req.client.close(reason))
    req.onLeave(() => {
      letGo()
      this.hub.release(stream, req.subject)
    })
    return null
  }

  /** live.play: join as a player; the client announces the play, then the cached burst follows. */
  readonly play: Stage<PlayRequest> = (req) => {
    const stream = req.stream as LiveStream
    // ended while the request waited (its application is gone after a reload)
    if (stream.isEnded) return STREAM_NOT_FOUND
    if (!stream.hasPublisher && !req.app.idleStreams) return STREAM_NOT_FOUND
    const m = member(req.info.clientId, req.info, req.client.format, false, () => req.client.close(DROPPED), (to) => req.client.redirect(to))
    let player: Player | null = stream.addPlayer(req.client, m)
    req.onLeave(() => {
      if (player !== null) stream.removePlayer(player)
      else stream.unpause(req.client, false)
      player = null
    })
    req.client.joined({
      pause: () => {
        if (player !== null) stream.pausePlayer(player)
        player = null
      },
      resume: () => {
        if (player === null) player = stream.unpause(req.client, true, m)
      },
    })
    stream.startPlayer(player)
    this.hub.metrics.playersJoined[req.client.format]++
    return null
  }

  /** live.publish: join as a publisher of the request's priority. */
  readonly publish: Stage<PublishRequest> = (req) => {
    const stream = req.stream as LiveStream
    // ended while the request waited (its application is gone after a reload)
    if (stream.isEnded) return STREAM_NOT_FOUND
    const handle: PublisherHandle = {
      priority: publishPriority(req.info.pargs),
      close: (reason) => req.client.close(reason),
      refuse: (failure) => req.refuse(failure),
      member: member(req.info.clientId, req.info, 'rtmp', false, () => req.client.close(DROPPED), (to) => req.client.redirect(to, stream.headersOf(handle))),
    }
    if (!stream.addPublisher(handle)) return ALREADY_PUBLISHING
    req.publisher = handle
    this.hub.metrics.publishersJoined++
    req.onLeave(() => stream.removePublisher(handle))
    req.client.publishing({
      media: (msg) => stream.publish(handle, msg),
      data: (msg) => stream.publishData(handle, msg),
    })
    return null
  }
}
