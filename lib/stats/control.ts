// rtmp_control (§9.2, observed §15): `…/<section>/<method>?srv=…[&app=…[&name=…]][&clientid=…][&addr=…]`
// drops, pauses, resumes or redirects the sessions and relay legs it selects, or starts and stops a
// recorder. The answer is the count of sessions acted on (records: "ok\n"); a request it cannot
// carry out is a 500, a section the location does not enable is declined (404).
import { queryArg } from '../core/query.js'
import type { Hub } from '../live/hub.js'
import type { LiveStream } from '../live/stream.js'
import type { Member } from '../live/publisher.js'
import { serverIdOf } from './snapshot.js'

/** The control sections and the rtmp_control words that enable them */
const SECTIONS = ['record', 'drop', 'redirect', 'pause', 'resume'] as const
type Section = (typeof SECTIONS)[number]

/** What the control acts on besides the hub's streams. */
export interface ControlTargets {
  readonly hub: Hub
  /** /control/record: recorder `rec` of stream `key` starts or stops; false when the stream has none of that name */
  record(key: string, rec: string, start: boolean): boolean
}

/** 200 with `body`, 404 (declined), or 500 (nginx's error pages). */
export type ControlAnswer = { readonly status: 200, readonly body: string } | { readonly status: 404 | 500, readonly why: string }

const fail = (why: string): ControlAnswer => ({ status: 500, why })

export function control(path: string, query: string, enabled: readonly string[], targets: ControlTargets): ControlAnswer {
  const parts = path.split('/').filter((p) => p !== '')
  const section = parts.at(-2) ?? ''
  const method = parts.at(-1) ?? ''
  if (!(SECTIONS as readonly string[]).includes(section) || !(enabled.includes('all') || enabled.includes(section))) {
    return { status: 404, why: `no control section "${section}"` }
  }
  const srv = queryArg(query, 'srv')
  if (srv === null) return fail('srv is required')
  const streams = select(targets.hub, srv, queryArg(query, 'app'), queryArg(query, 'name'))
  if ((section as Section) === 'record') return record(streams, method, queryArg(query, 'rec') ?? '', targets)
  if (method !== 'publisher' && method !== 'subscriber' && method !== 'client') return fail(`no control method "${method}"`)
  const newName = queryArg(query, 'newname')
  if (section === 'redirect' && newName === null) return fail('redirect needs newname')
  const clientId = queryArg(query, 'clientid')
  const addr = queryArg(query, 'addr')
  const picked: { stream: LiveStream, member: Member, publishing: boolean }[] = []
  for (const stream of streams) {
    for (const v of stream.members()) {
      if (method === 'publisher' ? !v.publishing : method === 'subscriber' ? v.publishing : false) continue
      if (clientId !== null && String(v.member.id) !== clientId) continue
      if (addr !== null && v.member.info.listen !== addr) continue
      // relay legs cannot be redirected: they are not counted as redirected
      if (section === 'redirect' && v.member.redirect === null) continue
      picked.push({ stream, member: v.member, publishing: v.publishing })
    }
  }
  for (const p of picked) {
    if (section === 'drop') p.member.drop()
    else if (section === 'redirect') p.member.redirect?.(newName as string)
    // pausing a subscriber has no effect on the fan-out (§9.2); it is counted all the same
    else if (p.publishing) p.stream.pausePublisher(p.member, section === 'pause')
  }
  return { status: 200, body: String(picked.length) }
}

/** The streams of serverid `srv`, of `app` (all without), named `name` (all without). */
function select(hub: Hub, srv: string, app: string | null, name: string | null): LiveStream[] {
  const out: LiveStream[] = []
  for (const s of hub.all()) {
    if (serverIdOf(s) !== srv || (app !== null && s.app !== app) || (name !== null && s.name !== name)) continue
    out.push(s)
  }
  return out
}

function record(streams: readonly LiveStream[], method: string, rec: string, targets: ControlTargets): ControlAnswer {
  if (method !== 'start' && method !== 'stop') return fail(`no record method "${method}"`)
  const publishing = streams.filter((s) => s.hasPublisher)
  if (publishing.length === 0) return fail('no publisher to record')
  for (const s of publishing) {
    if (!targets.record(s.key, rec, method === 'start')) return fail(`no recorder "${rec}" in the application`)
  }
  return { status: 200, body: 'ok\n' }
}
