// edge_metrics (edge's own, docs/compat.md): the node's state in Prometheus' text exposition
// format 0.0.4, for a scraper. Names follow Prometheus' conventions: an `edge_` prefix, base
// units (seconds, bytes), `_total` for counters, histograms as cumulative `_bucket{le}` series
// with `_sum` and `_count`. Every label takes values from a small fixed set (no stream names):
// the series a scrape returns stay few however many streams and legs there are.
import { NOTIFY_FAILURES, RELAY_FAILURES, type Histogram, type NodeMetrics, type RelayKind } from '../core/node-metrics.js'
import type { StatNode } from './snapshot.js'

type Labels = Readonly<Record<string, string>>
type Sample = readonly [labels: Labels, value: number]

/** The relay leg states a leg that has not stopped is in (lib/relay/leg.ts) */
const LEG_STATES = ['asking', 'connecting', 'relaying', 'waiting'] as const
const RELAY_KINDS: readonly RelayKind[] = ['pull', 'push']

/** A label value: backslash, double quote and line feed escaped (the exposition format's rule) */
function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function labelText(labels: Labels): string {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')
  return l === '' ? '' : `{${l}}`
}

/** A sample value: Prometheus' spelling of the infinities */
function valueText(v: number): string {
  return v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v)
}

class Exposition {
  private readonly lines: string[] = []

  private head(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  }

  /** One metric family: its HELP and TYPE lines, then a line per sample. */
  family(name: string, type: 'counter' | 'gauge', help: string, samples: readonly Sample[]): void {
    this.head(name, type, help)
    for (const [labels, value] of samples) this.lines.push(`${name}${labelText(labels)} ${valueText(value)}`)
  }

  /** A histogram family: per labelled histogram, its cumulative buckets (`le`), +Inf, sum and count. */
  histogram(name: string, help: string, series: readonly (readonly [Labels, Histogram])[]): void {
    this.head(name, 'histogram', help)
    for (const [labels, h] of series) {
      let cumulative = 0
      h.bounds.forEach((le, i) => {
        cumulative += h.counts[i]
        this.lines.push(`${name}_bucket${labelText({ ...labels, le: String(le) })} ${cumulative}`)
      })
      this.lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${h.count}`)
      this.lines.push(`${name}_sum${labelText(labels)} ${h.sum}`, `${name}_count${labelText(labels)} ${h.count}`)
    }
  }

  get text(): string {
    return `${this.lines.join('\n')}\n`
  }
}

export function metricsText(node: StatNode, m: NodeMetrics): string {
  const out = new Exposition()
  const streams = node.servers.flatMap((s) => s.streams)
  const clients = streams.flatMap((s) => s.clients)
  const players = (protocol: string): number => clients.filter((c) => !c.publishing && !c.relay && c.protocol === protocol).length
  const legs = [...m.relayLegs]
  const kinds = <T>(f: (kind: RelayKind) => readonly T[]): T[] => RELAY_KINDS.flatMap(f)

  out.family('edge_streams', 'gauge', 'Live streams in the hub.', [[{}, streams.length]])
  out.family('edge_players', 'gauge', 'Players by protocol (relay legs not counted).', [[{ protocol: 'rtmp' }, players('rtmp')], [{ protocol: 'flv' }, players('flv')]])
  out.family('edge_publishers', 'gauge', 'Publishing sessions (pull legs not counted).', [[{}, clients.filter((c) => c.publishing && !c.relay).length]])
  out.family('edge_players_joined_total', 'counter', 'Players that joined a stream, by protocol.',
    [[{ protocol: 'rtmp' }, m.playersJoined.rtmp], [{ protocol: 'flv' }, m.playersJoined.flv]])
  out.family('edge_publishers_joined_total', 'counter', 'Publishers that joined a stream.', [[{}, m.publishersJoined]])
  out.family('edge_rtmp_connections_accepted_total', 'counter', 'RTMP connections accepted.', [[{}, node.naccepted]])
  out.family('edge_received_bytes_total', 'counter', "Bytes read from the node's connections: accepted ones (RTMP, HTTP) and relay legs'.", [[{}, node.bytesIn]])
  out.family('edge_sent_bytes_total', 'counter', "Bytes sent on the node's connections: accepted ones (RTMP, HTTP) and relay legs'.", [[{}, node.bytesOut]])

  out.family('edge_relay_legs', 'gauge', 'Relay legs (pull: from an origin; push: to a target) by state.',
    kinds((kind) => LEG_STATES.map((state): Sample => [{ kind, state }, legs.filter((l) => l.kind === kind && l.legState === state).length])))
  out.family('edge_relay_legs_failing', 'gauge', 'Relay legs not relaying since an attempt failed, by why the last one failed.',
    kinds((kind) => RELAY_FAILURES.map((reason): Sample => [{ kind, reason }, legs.filter((l) => l.kind === kind && l.lastFailure === reason).length])))
  out.family('edge_relay_failures_total', 'counter', 'Relay leg attempts that failed, by why.',
    kinds((kind) => RELAY_FAILURES.map((reason): Sample => [{ kind, reason }, m.relayFailures[kind][reason]])))
  out.histogram('edge_pull_first_keyframe_seconds', 'Time from a pull attempt\'s start to the first video keyframe it relayed from the origin.',
    [[{}, m.pullFirstKeyframe]])

  const calls = [...m.notify].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  out.histogram('edge_notify_request_duration_seconds', 'Duration of notify callouts (on_play, on_publish, on_pull, ...), by call.',
    calls.map(([call, c]) => [{ call }, c.duration]))
  out.family('edge_notify_failures_total', 'counter', 'Notify callouts that failed, by call and why (no answer, or a status of 400 or more).',
    calls.flatMap(([call, c]) => NOTIFY_FAILURES.map((reason): Sample => [{ call, reason }, c.failures[reason]])))

  out.family('edge_player_dropped_frames_total', 'counter', 'Frames not sent to players (push legs and recorders included) over the unsent-bytes soft limit.',
    [[{}, m.droppedFrames]])
  out.family('edge_slow_players_closed_total', 'counter', 'Players closed for being slow: past the unsent-bytes hard limit, or output stuck for `timeout`.',
    [[{ reason: 'queue_limit' }, m.slowPlayersClosed.queue_limit], [{ reason: 'send_timeout' }, m.slowPlayersClosed.send_timeout]])

  out.family('edge_config_reloads_total', 'counter', 'Configuration reloads (SIGHUP), by result.',
    [[{ result: 'success' }, m.reloads.success], [{ result: 'failure' }, m.reloads.failure]])
  out.family('edge_config_last_reload_successful', 'gauge', 'Whether the last reload was applied (1) or failed and the old configuration stays (0).',
    [[{}, m.lastReloadSuccessful ? 1 : 0]])
  out.family('edge_config_last_reload_success_timestamp_seconds', 'gauge', 'When the configuration in force was loaded (start or reload), Unix time.',
    [[{}, m.lastReloadSuccessAt / 1000]])
  return out.text
}
