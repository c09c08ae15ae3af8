// Recorders in process (test/record): an application's recorders fed through the real publish
// pipeline (live.enter, live.publish, the record stage) by publishers that send the test media
// as fast as it goes, with their onStatus kept; the log in a temp file; the FLV tags of a file.
import { EventEmitter, once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { watch } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { loadConfig } from '../../lib/conf/check.js'
import type { AppConf, MainConf, RtmpServerConf } from '../../lib/conf/tree.js'
import { HostResolver } from '../../lib/core/resolve.js'
import { Logger } from '../../lib/core/log.js'
import { NodeMetrics } from '../../lib/core/node-metrics.js'
import { FlvReader, type FlvTag } from '../../lib/flv/reader.js'
import { Hub } from '../../lib/live/hub.js'
import { LiveStages, type PublishRequest, type Publishing } from '../../lib/live/stages.js'
import type { MediaMessage, MediaTypeId } from '../../lib/media/message.js'
import { MSG_AUDIO, MSG_VIDEO } from '../../lib/media/message.js'
import { NotifyClient } from '../../lib/notify/client.js'
import { Notifier } from '../../lib/notify/stages.js'
import type { FsLimiterOptions } from '../../lib/record/fs-limit.js'
import { Recordings } from '../../lib/record/stage.js'
import { liveOptions } from '../../lib/server.js'
import { StageRequest, type PlayInfo } from '../../lib/stages.js'
import { testMediaTags } from './origins.js'

export interface UnitPublisher {
  readonly req: PublishRequest
  /** `<code> <description>` of each onStatus */
  readonly statuses: string[]
  readonly into: Publishing
  /** the test media's tags from `from` up to `to` ms, timestamps shifted by `offsetMs` (`only`: of that type) */
  send(fromMs: number, toMs: number, offsetMs?: number, only?: number): void
  /** resolves once `count` statuses `<code> <description>` came, or rejects after `timeoutMs` */
  waitStatus(status: string, count?: number, timeoutMs?: number): Promise<void>
}

export interface UnitNode {
  readonly recordings: Recordings
  readonly hub: Hub
  /** publish `name` into application `app` (the first by default) with publish query `pargs` */
  publish(name: string, opts?: { app?: string, pargs?: string, clientId?: number }): Promise<UnitPublisher>
}

export interface RecordUnit {
  /** a temp dir, removed in teardown */
  readonly dir: string
  readonly logFile: string
  readonly log: Logger
  /** the log lines that contain `text` */
  lines(text: string): string[]
  /** resolves once a log line contains `text`, or rejects after `timeoutMs` */
  waitLine(text: string, timeoutMs?: number): Promise<void>
  /** an rtmp server with applications `name { live on; <body> }` (a string: application `rec`) */
  tree(apps: string | Readonly<Record<string, string>>): MainConf
  node(conf: MainConf, fs?: FsLimiterOptions): UnitNode
}

export function recordUnit(t: Test): RecordUnit {
  const dir = mkdtempSync(join(tmpdir(), 'edge-record-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const logFile = join(dir, 'error.log')
  const log = new Logger([{ path: logFile, level: 'info' }])
  t.teardown(() => log.close())
  const lines = (text: string): string[] => readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(text))
  return {
    dir,
    logFile,
    log,
    lines,
    async waitLine(text, timeoutMs = 5000) {
      const changes = watch(logFile, { signal: AbortSignal.timeout(timeoutMs) })
      if (lines(text).length > 0) return
      for await (const _change of changes) if (lines(text).length > 0) return
    },
    tree(apps) {
      const list = typeof apps === 'string' ? { rec: apps } : apps
      const file = join(dir, `c${Math.random().toString(36).slice(2)}.conf`)
      const blocks = Object.entries(list).map(([name, body]) => `application ${name} { live on; ${body} }`).join(' ')
      writeFileSync(file, `events {}\nrtmp { server { listen 127.0.0.1:1; ${blocks} } }\n`)
      return loadConfig({ prefix: dir, confFile: file, globals: null }).tree
    },
    node: (conf, fs) => unitNode(conf, log, fs),
  }
}

function unitNode(conf: MainConf, log: Logger, fs?: FsLimiterOptions): UnitNode {
  const server = conf.rtmp?.servers[0] as RtmpServerConf
  const hub = new Hub(new NodeMetrics())
  const live = new LiveStages(hub, (s, a) => liveOptions(s, a, 'edge-test'))
  const recordings = new Recordings(log, new Notifier(new NotifyClient(new HostResolver({ addresses: [], timeoutMs: 1000 }), hub.metrics), log), fs)
  const stages = [live.enter, live.publish, recordings.stage]
  return {
    recordings,
    hub,
    async publish(name, opts = {}) {
      const app = (opts.app === undefined ? server.applications[0] : server.applications.find((a) => a.name === opts.app)) as AppConf
      const statuses: string[] = []
      const told = new EventEmitter()
      let into: Publishing | null = null
      const info: PlayInfo = {
        clientId: opts.clientId ?? 1, domain: '127.0.0.1', app: opts.app ?? 'rec', name, pargs: opts.pargs ?? '', args: '', flashVer: '',
        swfUrl: '', tcUrl: '', pageUrl: '', audioCodecs: 0, videoCodecs: 0, scheme: 'rtmp', serverId: 'default', remoteAddr: '127.0.0.1',
        remotePort: '1', serverAddr: '127.0.0.1', serverPort: '1', listen: '0.0.0.0:1935',
      }
      const req: PublishRequest = new StageRequest('publish', info, app, server, {
        publishing: (i: Publishing) => { into = i },
        notice: (_level: string, code: string, description: string) => {
          statuses.push(`${code} ${description}`)
          told.emit('status')
        },
        close: () => req.close(),
        redirect: () => { throw new Error('not redirected in these tests') },
      })
      const outcome = await new Promise<unknown>((resolve) => { void req.enter(stages, resolve) })
      if (outcome !== null || into === null) throw new Error('the publish did not start')
      const publishing: Publishing = into
      return {
        req,
        statuses,
        into: publishing,
        async waitStatus(status, count = 1, timeoutMs = 5000) {
          const signal = AbortSignal.timeout(timeoutMs)
          while (statuses.filter((s) => s === status).length < count) await once(told, 'status', { signal })
        },
        send(fromMs, toMs, offsetMs = 0, only) {
          for (const tag of testMediaTags()) {
            if (tag.typeId !== MSG_AUDIO && tag.typeId !== MSG_VIDEO) continue
            if (only !== undefined && tag.typeId !== only) continue
            if (tag.timestamp < fromMs || tag.timestamp >= toMs) continue
            const msg: MediaMessage = { typeId: tag.typeId as MediaTypeId, timestamp: tag.timestamp + offsetMs, payload: tag.payload }
            publishing.media(msg)
          }
        },
      }
    },
  }
}

export function tagsOf(path: string): FlvTag[] {
  const r = new FlvReader()
  r.push(readFileSync(path))
  return r.drain()
}

/** descriptors this process holds */
export function fds(): number {
  return readdirSync('/proc/self/fd').length
}
