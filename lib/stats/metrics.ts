// edge_metrics (edge's own, docs/compat.md): the node's state in Prometheus' text exposition
// format, for a scraper. Names follow Prometheus' conventions: an `edge_` prefix, base units,
// `_total` for counters.
import type { StatNode } from './snapshot.js'

type Sample = readonly [labels: Readonly<Record<string, string>>, value: number]

/** One metric family: its HELP and TYPE lines, then a line per sample. */
function family(out: string[], name: string, type: 'counter' | 'gauge', help: string, samples: readonly Sample[]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')
    out.push(`${name}${l === '' ? '' : `{${l}}`} ${value}`)
  }
}

/** A label value: backslash, double quote and line feed escaped (the exposition format's rule) */
function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

export function metricsText(node: StatNode): string {
  const out: string[] = []
  const streams = node.servers.flatMap((s) => s.streams)
  const clients = streams.flatMap((s) => s.clients)
  const players = (protocol: string): number => clients.filter((c) => !c.publishing && !c.relay && c.protocol === protocol).length
  const legs = (publishing: boolean): number => clients.filter((c) => c.relay && c.publishing === publishing).length
  family(out, 'edge_streams', 'gauge', 'Live streams in the hub.', [[{}, streams.length]])
  family(out, 'edge_players', 'gauge', 'Players by protocol (relay legs not counted).', [[{ protocol: 'rtmp' }, players('rtmp')], [{ protocol: 'flv' }, players('flv')]])
  family(out, 'edge_publishers', 'gauge', 'Publishing sessions (pull legs not counted).', [[{}, clients.filter((c) => c.publishing && !c.relay).length]])
  family(out, 'edge_relay_legs', 'gauge', 'Relay legs relaying now.', [[{ kind: 'pull' }, legs(true)], [{ kind: 'push' }, legs(false)]])
  family(out, 'edge_connections_accepted_total', 'counter', 'RTMP connections accepted.', [[{}, node.naccepted]])
  family(out, 'edge_received_bytes_total', 'counter', 'Bytes read from accepted connections.', [[{}, node.bytesIn]])
  family(out, 'edge_sent_bytes_total', 'counter', 'Bytes written to accepted connections.', [[{}, node.bytesOut]])
  return `${out.join('\n')}\n`
}
