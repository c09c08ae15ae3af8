// PNG line plots for `npm run bench:load` (scripts/load/run.ts), shown in the README: panels side
// by side (server CPU and TTFF p95 against players), one line per server × protocol, a shared
// legend underneath; `npm run soak` (scripts/soak/run.ts) draws its time series with it too.
// Everything is drawn into an RGB buffer with a built-in 5×7 bitmap font and encoded as PNG here
// (signature, IHDR, IDAT, IEND), so the benchmark needs no plotting package.
import { Buffer } from 'node:buffer'
import { deflateSync } from 'node:zlib'

export interface Series {
  label: string
  points: Array<{ x: number, y: number }>
  /** a marker on every point (default); off for long time series, where markers merge into a band */
  marks?: boolean
}
export interface Panel { title: string, xLabel: string, yLabel: string, series: Series[], yLog?: boolean }

type RGB = readonly [number, number, number]
const INK: RGB = [34, 34, 34]
const FRAME: RGB = [150, 150, 150]
const GRID: RGB = [222, 222, 222]
const MINOR_GRID: RGB = [242, 242, 242]
/** Tableau 10 without its grey (that is the gridlines' colour) and olive (too pale on white) */
const PALETTE: RGB[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
  [148, 103, 189], [140, 86, 75], [227, 119, 194], [23, 190, 207],
]

// ---- font: 5 columns × 7 rows above the baseline, an optional 8th row for descenders -------------

const GLYPHS: Record<string, string> = {
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.', '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####', '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.', '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.', '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.', '9': '.###. #...# #...# .#### ....# ...#. .##..',
  A: '.###. #...# #...# ##### #...# #...# #...#', B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.', D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####', F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####', H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.', J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#', L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#', N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.', P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#', R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.', T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.', V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.', X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..', Z: '##### ....# ...#. ..#.. .#... #.... #####',
  a: '..... ..... .###. ....# .#### #...# .####', b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.', d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.', f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# .#### ....# .###.', h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.', j: '...#. ..... ..##. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.', l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#', n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.', p: '..... ..... ####. #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# .#### ....# ....#', r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.', t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#', v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.', x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# .#### ....# .###.', z: '..... ..... ##### ...#. ..#.. .#... #####',
  ' ': '', '.': '..... ..... ..... ..... ..... .##.. .##..', ',': '..... ..... ..... ..... ..... .##.. ..#.. .#...',
  '-': '..... ..... ..... .###. ..... ..... .....', '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '/': '..... ....# ...#. ..#.. .#... #.... .....', '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '×': '..... #...# .#.#. ..#.. .#.#. #...# .....', ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.', ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '_': '..... ..... ..... ..... ..... ..... #####', '=': '..... ..... ##### ..... ##### ..... .....',
  'µ': '..... ..... #...# #...# #...# ##.## #.#.. #....',
}
/** anything without a glyph draws as this box, so a missing character is visible rather than silent */
const BOX = '##### #...# #...# #...# #...# #...# #####'
const font = new Map(Object.entries(GLYPHS).map(([ch, art]) => [ch, art ? art.split(' ') : []]))
const ADVANCE = 6
const textWidth = (s: string, scale: number): number => [...s].length * ADVANCE * scale - (s ? scale : 0)

// ---- canvas -------------------------------------------------------------------------------------

interface Rect { x0: number, y0: number, x1: number, y1: number }

class Canvas {
  readonly px: Buffer
  clip: Rect
  constructor(readonly w: number, readonly h: number) {
    this.px = Buffer.alloc(w * h * 3, 255)
    this.clip = { x0: 0, y0: 0, x1: w - 1, y1: h - 1 }
  }

  set(x: number, y: number, c: RGB): void {
    const { x0, y0, x1, y1 } = this.clip
    if (x < x0 || x > x1 || y < y0 || y > y1 || x >= this.w || y >= this.h || x < 0 || y < 0) return
    const i = (y * this.w + x) * 3
    this.px[i] = c[0]; this.px[i + 1] = c[1]; this.px[i + 2] = c[2]
  }

  fill(x: number, y: number, w: number, h: number, c: RGB): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, c)
  }

  /** Bresenham with a 2×2 brush: 2 px thick without anti-aliasing */
  line(xa: number, ya: number, xb: number, yb: number, c: RGB): void {
    if (![xa, ya, xb, yb].every(Number.isFinite)) return // a NaN end would never be reached
    const dx = Math.abs(xb - xa)
    const dy = -Math.abs(yb - ya)
    const sx = xa < xb ? 1 : -1
    const sy = ya < yb ? 1 : -1
    let err = dx + dy
    for (let x = xa, y = ya; ; ) {
      this.fill(x, y, 2, 2, c)
      if (x === xb && y === yb) break
      const e2 = 2 * err
      if (e2 >= dy) { err += dy; x += sx }
      if (e2 <= dx) { err += dx; y += sy }
    }
  }

  /** text with its top-left at (x, y); `up` rotates it 90° anticlockwise with (x, y) its bottom-left */
  text(s: string, x: number, y: number, scale: number, c: RGB, up = false): void {
    let cx = 0
    for (const ch of s) {
      const rows = font.get(ch) ?? BOX.split(' ')
      rows.forEach((row, gy) => {
        for (let gx = 0; gx < 5; gx++) {
          if (row[gx] !== '#') continue
          const u = (cx + gx) * scale
          const v = gy * scale
          if (up) this.fill(x + v, y - u - scale + 1, scale, scale, c)
          else this.fill(x + u, y + v, scale, scale, c)
        }
      })
      cx += ADVANCE
    }
  }
}

// ---- axes ---------------------------------------------------------------------------------------

interface Axis { lo: number, hi: number, log: boolean, ticks: number[], labels: string[], minor: number[] }

/** the 1/2/5 × 10^k step nearest to `raw` (rounding rather than ceiling keeps 5-7 ticks, not 3) */
function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(raw))
  const m = raw / mag
  return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * mag
}

function linearAxis(lo: number, hi: number): Axis {
  if (!(hi > lo)) hi = lo + 1 // zero or empty range: still draw a usable axis
  const step = niceStep((hi - lo) / 5)
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9))
  // toFixed() throws past 100 digits; absurd ranges get exponent notation instead
  const label = (t: number): string =>
    decimals <= 6 && Math.abs(t) < 1e9 ? t.toFixed(decimals) : String(Number(t.toPrecision(6)))
  const ticks: number[] = []
  // bounded: at double-precision extremes the step can underflow to 0 or overflow to Infinity
  if (step > 0 && Number.isFinite(step)) {
    for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi * (1 + 1e-9) && ticks.length < 20; i++) ticks.push(i * step)
  }
  return { lo, hi, log: false, ticks, labels: ticks.map(label), minor: [] }
}

/** whole decades around the positive data; minor gridlines at 2…9 × each decade */
function logAxis(lo: number, hi: number): Axis {
  // clamped so that 10 ** a and 10 ** b stay finite and non-zero doubles
  const a = Math.max(-300, Math.floor(Math.log10(lo) + 1e-9))
  const b = Math.max(a + 1, Math.min(308, Math.ceil(Math.log10(hi) - 1e-9)))
  const ticks: number[] = []
  const minor: number[] = []
  for (let k = a; k <= b; k++) {
    ticks.push(10 ** k)
    if (k < b) for (let m = 2; m <= 9; m++) minor.push(m * 10 ** k)
  }
  const labels = ticks.map((t, i) => {
    const k = a + i
    return k >= 0 && k < 9 ? String(t) : k < 0 && k > -7 ? t.toFixed(-k) : `1e${k}`
  })
  return { lo: 10 ** a, hi: 10 ** b, log: true, ticks, labels, minor }
}

/** 0…1 along the axis */
function frac(ax: Axis, v: number): number {
  if (!ax.log) return (v - ax.lo) / (ax.hi - ax.lo)
  return (Math.log10(v) - Math.log10(ax.lo)) / (Math.log10(ax.hi) - Math.log10(ax.lo))
}

/** a point is drawable if it is finite (and positive on a log axis); anything else breaks the line */
const usable = (p: { x: number, y: number }, log: boolean): boolean =>
  Number.isFinite(p.x) && Number.isFinite(p.y) && (!log || p.y > 0)

const least = (v: number[], start: number): number => v.reduce((a, b) => Math.min(a, b), start)
const most = (v: number[], start: number): number => v.reduce((a, b) => Math.max(a, b), start)
/** ×1.1 for headroom, kept finite so that the axis still has a span */
const widen = (v: number): number => Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, v * 1.1))

function axesFor(panel: Panel): { x: Axis, y: Axis } {
  const pts = panel.series.flatMap((s) => s.points.filter((p) => usable(p, panel.yLog === true)))
  const xs = pts.map((p) => p.x)
  const ys = pts.map((p) => p.y)
  const x = linearAxis(least(xs, 0), most(xs, 0))
  if (panel.yLog) return { x, y: ys.length ? logAxis(least(ys, Infinity), most(ys, 0)) : logAxis(1, 10) }
  return { x, y: linearAxis(widen(least(ys, 0)), widen(most(ys, 0))) }
}

// ---- layout and drawing -------------------------------------------------------------------------

function drawPanel(cv: Canvas, panel: Panel, box: Rect, s: number, colourOf: (label: string) => RGB): void {
  const { x: xa, y: ya } = axesFor(panel)
  const titleScale = s + 1
  const pad = 6 * s
  const tick = 2 * s
  const yTickW = Math.max(0, ...ya.labels.map((l) => textWidth(l, s)))
  const lastX = xa.labels[xa.labels.length - 1] ?? ''
  const plot: Rect = {
    x0: box.x0 + pad + 8 * s + 4 * s + yTickW + 2 * s + tick,
    y0: box.y0 + pad + 8 * titleScale + 4 * s,
    x1: box.x1 - pad - Math.ceil(textWidth(lastX, s) / 2),
    y1: box.y1 - pad - 8 * s - 5 * s - 7 * s - 2 * s - tick,
  }
  if (plot.x1 - plot.x0 < 2 || plot.y1 - plot.y0 < 2) return // canvas too small for this panel
  const W = plot.x1 - plot.x0
  const H = plot.y1 - plot.y0
  // clamped: a point far outside the axes (only possible at double-precision extremes) must not
  // send Bresenham on a walk of billions of pixels
  const clamp = (f: number): number => Math.min(2, Math.max(-1, f))
  const px = (v: number): number => plot.x0 + Math.round(clamp(frac(xa, v)) * W)
  const py = (v: number): number => plot.y1 - Math.round(clamp(frac(ya, v)) * H)

  // grid first so that frame, lines and markers sit on top of it
  for (const v of ya.minor) cv.fill(plot.x0, py(v), W, 1, MINOR_GRID)
  for (const v of xa.ticks) cv.fill(px(v), plot.y0, 1, H, GRID)
  for (const v of ya.ticks) cv.fill(plot.x0, py(v), W, 1, GRID)
  cv.fill(plot.x0, plot.y0, W + 1, 1, FRAME); cv.fill(plot.x0, plot.y1, W + 1, 1, FRAME)
  cv.fill(plot.x0, plot.y0, 1, H + 1, FRAME); cv.fill(plot.x1, plot.y0, 1, H + 1, FRAME)
  xa.ticks.forEach((v, i) => {
    cv.fill(px(v), plot.y1 + 1, 1, tick, FRAME)
    cv.text(xa.labels[i], px(v) - Math.floor(textWidth(xa.labels[i], s) / 2), plot.y1 + tick + 2 * s, s, INK)
  })
  ya.ticks.forEach((v, i) => {
    cv.fill(plot.x0 - tick, py(v), tick, 1, FRAME)
    cv.text(ya.labels[i], plot.x0 - tick - 2 * s - textWidth(ya.labels[i], s), py(v) - Math.floor(7 * s / 2), s, INK)
  })

  const midX = Math.round((plot.x0 + plot.x1) / 2)
  cv.text(panel.title, midX - Math.floor(textWidth(panel.title, titleScale) / 2), box.y0 + pad, titleScale, INK)
  cv.text(panel.xLabel, midX - Math.floor(textWidth(panel.xLabel, s) / 2), plot.y1 + tick + 2 * s + 7 * s + 5 * s, s, INK)
  const midY = Math.round((plot.y0 + plot.y1) / 2)
  cv.text(panel.yLabel, box.x0 + pad, midY + Math.floor(textWidth(panel.yLabel, s) / 2), s, INK, true)

  // a little slack around the plot so that markers on its edges are drawn whole
  cv.clip = { x0: plot.x0 - 3, y0: plot.y0 - 3, x1: plot.x1 + 3, y1: plot.y1 + 3 }
  for (const series of panel.series) {
    const c = colourOf(series.label)
    let prev: [number, number] | undefined
    for (const p of series.points) {
      if (!usable(p, panel.yLog === true)) { prev = undefined; continue }
      const at: [number, number] = [px(p.x), py(p.y)]
      if (prev) cv.line(prev[0], prev[1], at[0], at[1], c)
      prev = at
    }
    if (series.marks === false) continue
    for (const p of series.points) if (usable(p, panel.yLog === true)) cv.fill(px(p.x) - 2, py(p.y) - 2, 5, 5, c)
  }
  cv.clip = { x0: 0, y0: 0, x1: cv.w - 1, y1: cv.h - 1 }
}

/** legend entries laid out in centred rows; returns the height used (measure only when !draw) */
function legend(cv: Canvas, labels: string[], colours: RGB[], top: number, s: number, draw: boolean): number {
  const swatch = 12 * s
  const gap = 12 * s
  const rowH = 12 * s
  const rows: number[][] = [[]]
  let used = 0
  labels.forEach((l, i) => {
    const w = swatch + 3 * s + textWidth(l, s)
    const row = rows[rows.length - 1]
    if (row.length && used + gap + w > cv.w - 2 * gap) {
      rows.push([i])
      used = w
    } else {
      used += (row.length ? gap : 0) + w
      row.push(i)
    }
  })
  if (!labels.length) return 0
  if (draw) {
    rows.forEach((row, r) => {
      const widths = row.map((i) => swatch + 3 * s + textWidth(labels[i], s))
      let x = Math.round((cv.w - widths.reduce((a, b) => a + b + gap, -gap)) / 2)
      const y = top + r * rowH
      row.forEach((i, k) => {
        cv.fill(x, y + Math.floor(7 * s / 2) - 1, swatch, 2, colours[i])
        cv.fill(x + Math.floor(swatch / 2) - 2, y + Math.floor(7 * s / 2) - 2, 5, 5, colours[i])
        cv.text(labels[i], x + swatch + 3 * s, y, s, INK)
        x += widths[k] + gap
      })
    })
  }
  return rows.length * rowH
}

/** An RGB PNG (white background) with the panels side by side, a shared legend underneath. */
export function renderPlot(panels: Panel[], opts: { width?: number, height?: number } = {}): Buffer {
  const w = Math.max(1, Math.floor(opts.width ?? 1200))
  const h = Math.max(1, Math.floor(opts.height ?? 520))
  const cv = new Canvas(w, h)
  // 1× glyphs are unreadable once GitHub shrinks a wide image to its column, so scale text with width
  const s = w >= 900 ? 2 : 1

  // one colour per label, in order of first appearance, so that panels and legend agree
  const labels: string[] = []
  for (const p of panels) for (const ser of p.series) if (!labels.includes(ser.label)) labels.push(ser.label)
  const colours = labels.map((_, i) => PALETTE[i % PALETTE.length])
  const colourOf = (label: string): RGB => colours[labels.indexOf(label)]

  const legendH = legend(cv, labels, colours, 0, s, false)
  const legendTop = h - legendH - 6 * s
  panels.forEach((panel, i) => {
    const x0 = Math.floor(i * w / panels.length)
    const x1 = Math.floor((i + 1) * w / panels.length) - 1
    drawPanel(cv, panel, { x0, y0: 0, x1, y1: legendTop - 1 }, s, colourOf)
  })
  legend(cv, labels, colours, legendTop, s, true)
  return encodePng(w, h, cv.px)
}

// ---- PNG encoding -------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32 (ISO 3309, as PNG uses it); Node 20's zlib has no crc32() yet */
function crc32(buf: Buffer): number {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

function encodePng(w: number, h: number, rgb: Buffer): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8 // bits per sample
  ihdr[9] = 2 // colour type: RGB
  // bytes 10-12 stay 0: deflate, adaptive filtering, no interlace
  const stride = w * 3
  const raw = Buffer.alloc((stride + 1) * h) // each scanline prefixed with filter type 0 (none)
  for (let y = 0; y < h; y++) rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride)
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const idat = deflateSync(raw, { level: 9 })
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))])
}
