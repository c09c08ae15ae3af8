// The node's operations locations (§9): what rtmp_stat, sys_stat, rtmp_control and edge_metrics
// answer, from the node's stats and the hub.
import type { LocationConf, LocationHandler, MainConf } from '../conf/tree.js'
import { queryArg } from '../core/query.js'
import { control, type ControlTargets } from './control.js'
import type { NodeStats } from './snapshot.js'
import { statJson, sysStatJson } from './stat-json.js'
import { statXml } from './stat-xml.js'

/** An operations location's handler (rtmp_stat, rtmp_control, sys_stat, edge_metrics). */
export type OperationsHandler = Extract<LocationHandler, { args: readonly string[] }>

/** Its answer: 200 with a body (no Content-Type when `type` is null, as rtmp_control), or an error page. */
export type OperationsAnswer =
  | { readonly status: 200, readonly type: string | null, readonly body: string }
  | { readonly status: 404 | 500, readonly why: string }

export interface Operations extends ControlTargets {
  readonly stats: NodeStats
  /** the configuration in force */
  tree(): MainConf
  /** edge_metrics: the Prometheus text */
  metrics(): string
}

/** Prometheus text exposition format 0.0.4 */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export function answerOperations(ops: Operations, h: OperationsHandler, loc: LocationConf, path: string, query: string): OperationsAnswer {
  switch (h.kind) {
    case 'rtmp_stat': {
      const node = ops.stats.snapshot(ops.tree())
      // `all` and `clients` list each stream's clients; `global` and `live` alone do not (§9.1)
      const clients = h.args.includes('all') || h.args.includes('clients')
      const format = queryArg(query, 'format') ?? loc.rtmpStatFormat
      if (format === 'json') return { status: 200, type: 'application/json', body: statJson(node, clients) }
      return { status: 200, type: 'text/xml', body: statXml(node, { clients, stylesheet: loc.rtmpStatStylesheet }) }
    }
    case 'sys_stat':
      // §9.3: no Content-Type of its own
      return { status: 200, type: null, body: sysStatJson(ops.stats.snapshot(ops.tree())) }
    case 'rtmp_control': {
      const a = control(path, query, h.args, ops)
      // §9.2: the count goes out with no Content-Type
      return a.status === 200 ? { status: 200, type: null, body: a.body } : a
    }
    case 'edge_metrics':
      return { status: 200, type: METRICS_CONTENT_TYPE, body: ops.metrics() }
  }
}
