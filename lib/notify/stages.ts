// The business server in the loop (§4): on_stream, on_play, on_publish and on_meta as stages of
// the play and publish pipelines, on_proc and on_master at start-up. Requests are built by
// events.ts and sent by the node's one NotifyClient; every wait is bounded by timeout=.
//
//   on_stream   start when a play/publish creates the stream (never blocks); done when it ends
//   on_play     start suspends the play until the answer: 200..300 go on, else Play.Forbidden
//   on_publish  the same for a publisher
//   on_meta     start at the publisher's first matching sequence header; a refusal ends it
//   update      every update= after an accepted start, while the session lasts (stage=update)
//   done        when the session ends, fire and forget (stage=done), also after a refusal
import type { NotifyConf, RtmpConf } from '../conf/tree.js'
import type { Logger } from '../core/log.js'
import { forbidden, type Stage, type StageRequest, type Subject } from '../stages.js'
import type { NotifyClient, NotifyResponse } from './client.js'
import {
  evaluatedOnce, masterTarget, NotifySubject, notifyTarget, processVariable, procTarget, type NotifyAct, type NotifyCall,
} from './events.js'

/** Sends notifications and logs their answers: one line per callout that was not a plain 200. */
export class Notifier {
  constructor(readonly client: NotifyClient, private readonly log: Logger) {}

  /** Send a request whose path and query are `target` to `conf`'s server; `call` is what the metrics count it as. */
  request(conf: NotifyConf, call: NotifyCall | 'proc' | 'master', target: string, signal?: AbortSignal): Promise<NotifyResponse> {
    return this.client.get({
      call,
      host: conf.parsed.host,
      port: conf.parsed.port ?? 80,
      target,
      hostHeader: conf.parsed.host,
      timeoutMs: conf.timeoutMs,
    }, signal)
  }

  /** Ask and wait for the answer (logged unless it is 200). */
  async ask(conf: NotifyConf, call: NotifyCall, act: NotifyAct, who: Subject, signal?: AbortSignal, record = ''): Promise<NotifyResponse> {
    const res = await this.request(conf, call, notifyTarget(conf, call, act, who, record), signal)
    this.logAnswer(`on_${call} ${act}`, res, who)
    return res
  }

  /** Fire and forget. */
  tell(conf: NotifyConf, call: NotifyCall, act: NotifyAct, who: Subject, record = ''): void {
    void this.ask(conf, call, act, who, undefined, record)
  }

  /**
   * act=update every update= (§4.2: the start query with act=update), the next one armed once
   * the last is answered (as PingOS re-arms its timer): a slow server never has two at once.
   * Returns the stop function.
   */
  updates(conf: NotifyConf, call: NotifyCall, who: Subject): () => void {
    return repeatAfterAnswer(conf.updateMs, () => this.ask(conf, call, 'update', who))
  }

  logAnswer(what: string, res: NotifyResponse, who: Subject | null): void {
    if (res.status === 200) return
    const ctx = who?.logCtx ?? {}
    if (res.status === -1) this.log.error(`${what}: no answer: ${res.reason}`, ctx)
    else this.log.info(`${what}: ${res.status}${res.reason === '' ? '' : ` (${res.reason})`}`, ctx)
  }
}

/** `send` every `ms`, the next one armed once the last is answered; returns the stop function. */
function repeatAfterAnswer(ms: number, send: () => Promise<unknown>): () => void {
  let stopped = false
  let timer: NodeJS.Timeout
  const tick = (): void => {
    void send().then(() => {
      if (!stopped) timer = setTimeout(tick, ms)
    })
  }
  timer = setTimeout(tick, ms)
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

/** §4.3: a start answer allows when its status is 200..300, or when there was none and ignore_invalid_notify is on. */
export function notifyAllows(res: NotifyResponse, ignoreInvalidNotify: boolean): boolean {
  return (res.status >= 200 && res.status <= 300) || (res.status === -1 && ignoreInvalidNotify)
}

/** The notify variables of a play or publish request (made once, by the first stage that needs them). */
export function subjectOf(req: StageRequest): Subject {
  if (req.subject === null) {
    const info = req.info
    req.subject = new NotifySubject(info, {
      clientId: info.clientId,
      metadata: () => (req.stream !== null && req.publisher !== null ? req.stream.metadataOf(req.publisher) : null),
      logCtx: { session: info.clientId, peer: `${info.remoteAddr}:${info.remotePort}`, app: info.app, name: info.name },
    })
  }
  return req.subject
}

/** on_stream (§4.4): start when this request created the stream; done when the stream ends. */
export function onStreamStage(n: Notifier, conf: NotifyConf): Stage<StageRequest> {
  return (req) => {
    const who = subjectOf(req)
    const stream = req.stream
    if (!req.created || stream === null) return null
    let ended = false
    let stopUpdates: (() => void) | null = null
    void n.ask(conf, 'stream', 'start', who).then((res) => {
      // updates follow only an exact 200 (§4.4), and repeat the start query (observed §13.2)
      if (res.status === 200 && conf.stages.update && !ended) stopUpdates = n.updates(conf, 'stream', who)
    })
    stream.on('ended', (by) => {
      ended = true
      stopUpdates?.()
      if (conf.stages.done) n.tell(conf, 'stream', 'done', by ?? who)
    })
    return null
  }
}

/** on_play / on_publish (§4.3): the start answer decides; done at the end, whatever it was. */
export function onPlayOrPublishStage(n: Notifier, conf: NotifyConf): Stage<StageRequest> {
  return async (req) => {
    const who = subjectOf(req)
    const call = req.action
    if (conf.stages.done) req.onDone(() => n.tell(conf, call, 'done', who))
    const res = await n.ask(conf, call, 'start', who, req.signal)
    if (req.gone) return null
    if (!notifyAllows(res, req.app.ignoreInvalidNotify)) return forbidden(503)
    if (conf.stages.update) req.onDone(n.updates(conf, call, who))
    return null
  }
}

/** Streams whose on_meta fired (on_meta_once: once per stream lifetime, §4.5). */
const metaFired = new WeakSet<object>()

/**
 * Push the request's stream where a 3xx `Location` says (with its `Domain` header). Returns the
 * function that stops that push, or null when the Location names no RTMP target.
 */
export type PushTo = (req: StageRequest, location: string, domain: string | null) => (() => void) | null

/**
 * on_meta (§4.5): at the publisher's first matching sequence header each on_meta line asks its
 * own URL (compat fix: PingOS asks the first line's URL N times); a refusal ends the publisher.
 * A 3xx naming an RTMP Location starts one push leg per line there, as the docs describe
 * (compat fix: dead code in PingOS, where a 3xx is a refusal).
 */
export function onMetaStage(n: Notifier, confs: readonly NotifyConf[], pushTo: PushTo): Stage<StageRequest> {
  return (req) => {
    const stream = req.stream
    const publisher = req.publisher
    if (stream === null || publisher === null) return null
    const who = subjectOf(req)
    const type = req.app.onMetaType
    const doneFor = new Set<NotifyConf>()
    /** one update loop per line, however many headers ask again (on_meta_once off) */
    const updating = new Set<NotifyConf>()
    /** one push per line (the last answer's), stopped when the publisher leaves */
    const pushes = new Map<NotifyConf, () => void>()
    req.onDone(() => {
      for (const stop of pushes.values()) stop()
    })
    const stop = stream.on('header', (track, by) => {
      if (by !== publisher || (type !== 'both' && type !== track)) return
      if (req.app.onMetaOnce) {
        if (metaFired.has(stream)) return
        metaFired.add(stream)
      }
      for (const conf of confs) {
        if (conf.stages.done && !doneFor.has(conf)) {
          doneFor.add(conf)
          req.onDone(() => n.tell(conf, 'meta', 'done', who))
        }
        void n.ask(conf, 'meta', 'start', who, req.signal).then((res) => {
          if (req.gone) return
          const push = res.status > 300 && res.status < 400 && res.location !== null ? pushTo(req, res.location, res.domain) : null
          if (push !== null) {
            pushes.get(conf)?.()
            pushes.set(conf, push)
          }
          if (push === null && !notifyAllows(res, req.app.ignoreInvalidNotify)) req.refuse(forbidden(403))
          else if (conf.stages.update && !updating.has(conf)) {
            updating.add(conf)
            req.onDone(n.updates(conf, 'meta', who))
          }
        })
      }
    })
    req.onDone(stop)
    return null
  }
}

/**
 * on_proc and on_master (§4.7), once at start-up: init_process, then init_master with its
 * updates. Returns the function that stops the updates.
 */
export function processNotifications(n: Notifier, rtmp: RtmpConf | null): () => void {
  const stops: (() => void)[] = []
  const proc = rtmp?.onProc ?? null
  if (proc !== null) void n.request(proc, 'proc', procTarget(proc, 0)).then((res) => n.logAnswer('on_proc', res, null))
  const master = rtmp?.onMaster ?? null
  if (master !== null) {
    // rtmp{}-level variables: the process's, and the serverid of the first server (edge's one process serves them all)
    const serverId = rtmp?.listeners[0]?.serverId ?? ''
    const variable = evaluatedOnce((name) => (name === 'serverid' ? serverId : processVariable(name)))
    const send = async (act: NotifyAct): Promise<void> => {
      n.logAnswer(`on_master ${act}`, await n.request(master, 'master', masterTarget(master, act, variable)), null)
    }
    void send('start')
    if (master.stages.update) stops.push(repeatAfterAnswer(master.updateMs, () => send('update')))
  }
  return () => {
    for (const s of stops) s()
  }
}
