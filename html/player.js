// The player page: lists the node's live streams from its JSON stats and plays one over
// HTTP-FLV with mpegts.js (a browser has no FLV of its own: mpegts.js remuxes the FLV tags to
// fragmented MP4 for Media Source Extensions). `index.html?app=live&name=cam1` plays that
// stream at once, muted, so that browsers allow it to start without a click.

/** the JSON form of rtmp_stat on the shipped conf's http server */
const STATS_URL = '/stat?format=json'
/** how often the list is fetched again */
const REFRESH_MS = 3000
/** a stats answer slower than this counts as unreachable */
const STATS_TIMEOUT_MS = 2500

const $ = (id) => document.getElementById(id)
const video = $('video')
/** the mpegts.js player of the stream on screen, or null */
let player = null
/** "app/name" of the stream on screen, or null */
let current = null

/** The FLV URL of a stream on this origin: location /<app> { flv_live …; } plays /<app>/<name>.flv. */
function flvUrl(app, name) {
  return `/${encodeURIComponent(app)}/${encodeURIComponent(name)}.flv`
}

/** Shows `text` in `el`, hidden when empty. */
function setText(el, text) {
  el.textContent = text
  el.hidden = text === ''
}

function describeVideo(v) {
  if (v == null) return '—'
  const parts = [`${v.width}×${v.height}`, v.codec, v.profile, v.level && `level ${v.level}`, v.frame_rate && `${v.frame_rate} fps`]
  return parts.filter(Boolean).join(' ')
}

function describeAudio(a) {
  if (a == null) return '—'
  const parts = [a.codec, a.profile, a.sample_rate && `${a.sample_rate} Hz`, a.channels && `${a.channels} ch`]
  return parts.filter(Boolean).join(' ')
}

function describeDuration(ms) {
  const s = Math.floor(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`
}

/** The live streams of a stats answer: those with a publisher (a client or a pull leg). */
function liveStreams(stats) {
  const streams = []
  for (const server of stats.rtmp?.servers ?? []) {
    for (const s of server.live?.streams ?? []) {
      if (s.publishing) streams.push(s)
    }
  }
  return streams
}

function cell(text, className) {
  const td = document.createElement('td')
  td.textContent = text
  if (className) td.className = className
  return td
}

// Names come from publishers: every value goes in as text, never as markup.
function renderStreams(streams) {
  const body = $('streams').tBodies[0]
  body.replaceChildren(...streams.map((s) => {
    const key = `${s.app}/${s.name}`
    const tr = document.createElement('tr')
    tr.dataset.stream = key
    if (key === current) tr.className = 'current'
    const players = (s.clients ?? []).filter((c) => !c.publishing).length
    tr.append(
      cell(key),
      cell(describeVideo(s.meta?.video)),
      cell(describeAudio(s.meta?.audio)),
      cell(`${Math.round((s.bw_in ?? 0) / 1000)} kbit/s`, 'num'),
      cell(String(players), 'num'),
      cell(describeDuration(s.time ?? 0), 'num'),
    )
    const button = document.createElement('button')
    button.type = 'button'
    button.textContent = 'Play'
    button.addEventListener('click', () => play(s.app, s.name, s.meta))
    const td = document.createElement('td')
    td.append(button)
    tr.append(td)
    return tr
  }))
  $('streams').hidden = streams.length === 0
  $('stats-status').textContent = streams.length === 0
    ? 'No live streams. Publish one, e.g. ffmpeg … -f flv rtmp://HOST:1935/live/cam1'
    : `${streams.length} live stream${streams.length === 1 ? '' : 's'}, updated ${new Date().toLocaleTimeString()}`
}

async function refresh() {
  try {
    const res = await fetch(STATS_URL, { cache: 'no-store', signal: AbortSignal.timeout(STATS_TIMEOUT_MS) })
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`)
    const stats = await res.json()
    setText($('stats-error'), '')
    const streams = liveStreams(stats)
    renderStreams(streams)
    // a player stays connected when the publisher leaves (as on nginx-rtmp), so the video just
    // stops: say why
    const live = current !== null && streams.some((s) => `${s.app}/${s.name}` === current)
    setText($('player-status'), current === null || live ? '' : `${current} has no publisher now.`)
  } catch (err) {
    setText($('stats-error'), `Stats unreachable (${STATS_URL}): ${err.message}`)
  } finally {
    setTimeout(refresh, REFRESH_MS)
  }
}

function stop() {
  if (player !== null) {
    player.destroy()
    player = null
  }
  current = null
  $('player').hidden = true
  for (const tr of $('streams').tBodies[0].rows) tr.className = ''
}

/**
 * Play app/name; `meta` (from the stats, when known) tells mpegts.js whether to wait for audio
 * and video, so that a stream without audio does not stall waiting for it.
 */
function play(app, name, meta) {
  stop()
  const url = flvUrl(app, name)
  current = `${app}/${name}`
  $('player').hidden = false
  $('player-title').textContent = current
  $('player-url').href = url
  $('player-url').textContent = new URL(url, location.href).href
  setText($('player-error'), '')
  setText($('player-status'), '')
  for (const tr of $('streams').tBodies[0].rows) tr.className = tr.dataset.stream === current ? 'current' : ''
  // the address bar names what plays, so the page can be reloaded or shared
  history.replaceState(null, '', `?${new URLSearchParams({ app, name })}`)

  if (typeof mpegts === 'undefined') {
    setText($('player-error'), 'Play error: the player library did not load (lib/mpegts.js/mpegts.js)')
    return
  }
  if (!mpegts.getFeatureList().mseLivePlayback) {
    setText($('player-error'), 'Play error: this browser cannot play live streams (no Media Source Extensions)')
    return
  }
  const source = { type: 'flv', isLive: true, url }
  if (meta != null) {
    source.hasAudio = meta.audio != null
    source.hasVideo = meta.video != null
  }
  player = mpegts.createPlayer(source, { isLive: true, liveSync: true })
  player.on(mpegts.Events.ERROR, (type, detail, info) => {
    const why = info?.code ? `HTTP ${info.code} ${info.msg ?? ''}` : info?.msg ?? ''
    setText($('player-error'), `Play error: ${type} ${detail}${why ? `: ${why}` : ''}`)
  })
  player.on(mpegts.Events.LOADING_COMPLETE, () => {
    setText($('player-error'), 'The stream ended.')
  })
  player.attachMediaElement(video)
  player.load()
  player.play()?.catch((err) => {
    setText($('player-error'), `Play error: ${err.message} (press play on the video)`)
  })
}

$('stop').addEventListener('click', () => {
  stop()
  history.replaceState(null, '', location.pathname)
})

const asked = new URLSearchParams(location.search)
if (asked.get('app') && asked.get('name')) play(asked.get('app'), asked.get('name'), null)
refresh()
