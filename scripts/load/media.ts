// The media the load benchmark and the soak publish: a pre-encoded H.264/AAC file, made once
// with ffmpeg and cached in node_modules/.cache/edge-load (the benchmark's player binary is
// cached there too).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** the repository root (scripts run compiled from dist/scripts/...) */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** the load media and the compiled player are built once and kept here */
export const cacheDir = join(root, 'node_modules', '.cache', 'edge-load')

/**
 * The stream: H.264 High 720p25 (2 s GOP) + AAC-LC 128 kbit/s at `kbps` in all, CBR
 * (nal-hrd=cbr), noise over testsrc2 so that the encoder has to spend the bits. Encoded once
 * into node_modules/.cache/edge-load and reused.
 */
export function ensureMedia(kbps: number): string {
  const file = join(cacheDir, `testsrc2-720p25-${kbps}k-20s.flv`)
  if (existsSync(file)) return file
  mkdirSync(cacheDir, { recursive: true })
  const video = Math.max(100, kbps - 128 - 16)
  const tmp = `${file}.part`
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25,noise=alls=12:allf=t',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '20',
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    '-b:v', `${video}k`, '-maxrate', `${video}k`, '-bufsize', `${video >> 1}k`, '-x264-params', 'nal-hrd=cbr:force-cfr=1',
    '-g', '50', '-keyint_min', '50', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '44100', '-ac', '2', '-f', 'flv', tmp], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) throw new Error(`ffmpeg could not encode the load media (exit ${r.status})`)
  renameSync(tmp, file)
  return file
}

/** bits per second: file size × 8 / duration, as ffprobe reports them */
export function mediaBitrate(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,size', '-of', 'json', file], { encoding: 'utf8' })
  const f = (JSON.parse(r.stdout) as { format: { duration: string, size: string } }).format
  return (Number(f.size) * 8) / Number(f.duration)
}
