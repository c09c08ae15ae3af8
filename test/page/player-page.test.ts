// The player page (issue 12, item 4) in a real browser: an edge with the shipped conf's
// locations (HTTP-FLV at /live, rtmp_stat at /stat, the page at /, mpegts.js from
// node_modules), a test pattern published by ffmpeg, and Debian's chromium driven headless by
// playwright-core. What a person would see: the stream in the list with its resolution and
// codecs, a video whose clock runs and whose frames are decoded, the player counted in the
// list, and errors written on the page when the stats or the stream cannot be had.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { repoRoot } from '../helpers/edge.js'
import { freePort, startEdge, type EdgeProcess } from '../helpers/node.js'

const CHROMIUM = '/usr/bin/chromium'
const FFMPEG = '/usr/bin/ffmpeg'
// Headless as root on a machine whose network is only loopback: no sandbox, no GPU, and none
// of the background connections that a closed network refuses (playwright-core gives every
// launch a fresh, empty user-data-dir of its own).
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
/** bound on chromium starting and on a page loading */
const BROWSER_START_MS = 30_000
/** how long chromium may take to close before it is killed */
const BROWSER_CLOSE_MS = 5000
/** bound on ffmpeg's publish reaching the edge */
const PUBLISH_WAIT_MS = 15_000
/** bound on a page state: a stats refresh (3 s) and a play start, with room for a loaded machine */
const PAGE_STATE_MS = 20_000
/** how far the video's clock must run once playing */
const PLAYED_S = 3
/** the test pattern ffmpeg publishes */
const WIDTH = 640
const HEIGHT = 360
const STREAM = 'test'
/** PNG's 8-byte signature */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

const missing = [CHROMIUM, FFMPEG].find((p) => !existsSync(p))
const skip = missing === undefined ? false : `not installed: ${missing}`

/** The http server of the shipped conf, with absolute paths for this checkout; `stat` false leaves /stat out. */
function httpConf(httpPort: number, rtmpPort: number, opts: { stat: boolean }): string {
  return `http {
    include ${join(repoRoot, 'conf', 'mime.types')};
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:${httpPort};
        chunked_transfer_encoding on;
        location /live { flv_live 127.0.0.1:${rtmpPort}; }
        ${opts.stat ? 'location /stat { rtmp_stat all; }' : ''}
        location /lib/mpegts.js/ { alias ${join(repoRoot, 'node_modules', 'mpegts.js', 'dist')}/; }
        location / { root ${join(repoRoot, 'html')}; index index.html; }
    }
}
`
}

/** An edge like the shipped one on free ports of 127.0.0.1; stopped in t's teardown. */
async function startPageEdge(t: Test, opts: { stat: boolean }): Promise<{ edge: EdgeProcess, rtmpPort: number, httpPort: number }> {
  const rtmpPort = await freePort()
  const httpPort = await freePort()
  const edge = await startEdge(`events {}
rtmp {
    server {
        listen 127.0.0.1:${rtmpPort};
        serverid edge;
        timeout 10s;
        application live {
            live on;
            cache_time 1s;
            send_all on;
            wait_key on;
            wait_video on;
        }
    }
}
${httpConf(httpPort, rtmpPort, opts)}`)
  t.teardown(() => edge.stop())
  return { edge, rtmpPort, httpPort }
}

interface Publisher {
  /** ffmpeg's error output so far */
  errors(): string
  stop(): Promise<void>
}

/**
 * ffmpeg publishing a live test pattern (H.264 + AAC, one keyframe a second) into `url`;
 * stopped (killed by PID) in t's teardown at the latest.
 */
function publishTestPattern(t: Test, url: string): Publisher {
  const child = spawn(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc=size=${WIDTH}x${HEIGHT}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '25',
    '-c:a', 'aac', '-f', 'flv', url], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = once(child, 'exit')
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  }
  t.teardown(stop)
  return { errors: () => stderr, stop }
}

/** publishTestPattern() into live/<name> of `edge`, once the edge logs the publish. */
async function publishLive(t: Test, edge: EdgeProcess, rtmpPort: number, name: string): Promise<Publisher> {
  const publisher = publishTestPattern(t, `rtmp://127.0.0.1:${rtmpPort}/live/${name}`)
  await edge.waitForLog(`publish: name='${name}'`, PUBLISH_WAIT_MS).catch((err: Error) => {
    throw new Error(`${err.message}\nffmpeg: ${publisher.errors()}`)
  })
  return publisher
}

/**
 * Debian's chromium, headless, launched as a server so that its process is ours to end: closed in
 * t's teardown, and killed by PID if it has not exited BROWSER_CLOSE_MS later.
 */
async function launchChromium(t: Test): Promise<Browser> {
  const server = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, timeout: BROWSER_START_MS })
  const proc = server.process()
  const exited = once(proc, 'exit')
  t.teardown(async () => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), BROWSER_CLOSE_MS)
    await server.close()
    await exited
    clearTimeout(kill)
  })
  return chromium.connect(server.wsEndpoint(), { timeout: BROWSER_START_MS })
}

/** A fresh page (own context) at `url`; a script error on it fails t. */
async function openPage(t: Test, browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  page.on('pageerror', (err) => t.fail(`script error on the page: ${err.message}`))
  await page.goto(url, { timeout: BROWSER_START_MS })
  return page
}

interface Playback { readonly currentTime: number, readonly frames: number, readonly muted: boolean, readonly paused: boolean }

async function playback(page: Page): Promise<Playback> {
  return page.$eval('#video', (v: HTMLVideoElement) => ({
    currentTime: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames, muted: v.muted, paused: v.paused,
  }))
}

/** Waits until the video's clock has run `seconds` past `from` with frames decoded; the state then. */
async function playedPast(page: Page, from: number, seconds: number): Promise<Playback> {
  await page.waitForFunction(([from, seconds]) => {
    const v = document.querySelector('video')
    return v !== null && v.currentTime >= from + seconds && v.getVideoPlaybackQuality().totalVideoFrames > 0
  }, [from, seconds], { timeout: PAGE_STATE_MS, polling: 100 })
  return playback(page)
}

async function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? '')
}

let browser: Browser
let edge: EdgeProcess
let httpPort = 0
let rtmpPort = 0

// Set up in t.before, not at top level: tap ends a root test that awaits between assertions.
t.before(async () => {
  if (skip !== false) return
  const node = await startPageEdge(t, { stat: true })
  edge = node.edge
  httpPort = node.httpPort
  rtmpPort = node.rtmpPort
  await publishLive(t, edge, rtmpPort, STREAM)
  browser = await launchChromium(t)
})

t.test('the list shows the live stream; Play plays it and the list counts the player', { skip }, async (t) => {
  const page = await openPage(t, browser, `http://127.0.0.1:${httpPort}/`)
  const row = `#streams tr[data-stream="live/${STREAM}"]`
  await page.waitForSelector(row, { timeout: PAGE_STATE_MS })
  const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent ?? ''))
  t.equal(cells[0], `live/${STREAM}`)
  t.match(cells[1], new RegExp(`^${WIDTH}×${HEIGHT} H264 `), 'video: resolution and codec from the stream\'s meta')
  t.match(cells[2], /^AAC .*44100 Hz/, 'audio: codec and rate from the stream\'s meta')
  t.equal(cells[4], '0', 'no player yet')

  await page.click(`${row} button`)
  const start = await page.waitForFunction(() => {
    const v = document.querySelector('video')
    return v !== null && v.currentTime > 0 ? v.currentTime : false
  }, undefined, { timeout: PAGE_STATE_MS, polling: 100 }).then((h) => h.jsonValue() as Promise<number>)
  const first = await playback(page)
  const later = await playedPast(page, start, PLAYED_S)
  t.ok(later.currentTime - start >= PLAYED_S, `the video's clock ran ${(later.currentTime - start).toFixed(2)} s`)
  t.ok(later.frames > first.frames, `decoded frames grew: ${first.frames} → ${later.frames}`)
  t.notOk(later.paused, 'the video plays')
  t.equal(await textOf(page, '#player-error'), '', 'no play error on the page')
  t.equal(new URL(page.url()).search, `?app=live&name=${STREAM}`, 'the address names the stream on screen')
  t.equal(await page.getAttribute('#player-url', 'href'), `/live/${STREAM}.flv`)

  await page.waitForFunction((row) => document.querySelector(`${row} td:nth-child(5)`)?.textContent === '1', row,
    { timeout: PAGE_STATE_MS, polling: 100 })
  t.pass('the list counts the page as a player after a refresh')

  const shot = join(t.testdir(), 'player-page.png')
  await page.screenshot({ path: shot })
  t.ok(statSync(shot).size > PNG_SIGNATURE.length, 'the screenshot is not empty')
  t.same(readFileSync(shot).subarray(0, PNG_SIGNATURE.length), PNG_SIGNATURE, 'the screenshot is a PNG')
})

t.test('index.html?app=live&name=… plays at once, muted, without a click', { skip }, async (t) => {
  const page = await openPage(t, browser, `http://127.0.0.1:${httpPort}/index.html?app=live&name=${STREAM}`)
  const later = await playedPast(page, 0, 1)
  t.ok(later.muted, 'muted, as browsers require for autoplay')
  t.ok(later.frames > 0, 'frames decoded')
  t.equal(await textOf(page, '#player-title'), `live/${STREAM}`)
})

t.test('when the publisher leaves, the page says so under the stopped video', { skip }, async (t) => {
  const publisher = await publishLive(t, edge, rtmpPort, 'gone')
  const page = await openPage(t, browser, `http://127.0.0.1:${httpPort}/?app=live&name=gone`)
  await playedPast(page, 0, 0.5)
  await page.waitForSelector('#streams tr[data-stream="live/gone"]', { timeout: PAGE_STATE_MS })
  t.ok(await page.isHidden('#player-status'), 'nothing to say while the list has it live')
  await publisher.stop()
  await page.waitForSelector('#player-status:not([hidden])', { timeout: PAGE_STATE_MS })
  t.equal(await textOf(page, '#player-status'), 'live/gone has no publisher now.')
  t.equal(await textOf(page, '#player-error'), '', 'not an error')
})

t.test('a stream the node cannot serve shows a play error on the page', { skip }, async (t) => {
  const page = await openPage(t, browser, `http://127.0.0.1:${httpPort}/?app=nosuch&name=cam`)
  await page.waitForFunction(() => document.querySelector('#player-error')?.textContent !== '', undefined,
    { timeout: PAGE_STATE_MS, polling: 100 })
  t.match(await textOf(page, '#player-error'), /^Play error: .*HTTP 404/, 'the 404 of /nosuch/cam.flv is shown')
  t.notOk(await page.isHidden('#player-error'), 'and visible')
})

t.test('a node without the stats location shows that the stats are unreachable', { skip }, async (t) => {
  const bare = await startPageEdge(t, { stat: false })
  const page = await openPage(t, browser, `http://127.0.0.1:${bare.httpPort}/`)
  await page.waitForSelector('#stats-error:not([hidden])', { timeout: PAGE_STATE_MS })
  t.match(await textOf(page, '#stats-error'), /^Stats unreachable \(\/stat\?format=json\): HTTP 404/)
})
