// Lightweight load player for `npm run bench:load`: one process holding N RTMP or HTTP-FLV
// players of one stream. Per player it records time to first byte, time to first video
// keyframe (TTFF), bytes received inside the measurement window and the last video timestamp
// seen. It is C because the player process must cost far less CPU than the servers it measures:
// a Node player saturated one core at 2,000 players × 2 Mbit/s.
//
// One thread, one epoll set (level-triggered), non-blocking sockets, one shared 256 KiB read
// buffer. Streams are parsed incrementally with small fixed per-player state: HTTP-FLV only as
// far as tag headers, RTMP only as far as chunk headers, the first bytes of video messages and
// whole command (type 20) messages; media payloads are skipped where they lie in the read
// buffer. Most of the remaining cost is the kernel's, per read: once a player streams, it is
// read only when ~50 ms of its media is waiting (SO_RCVLOWAT, see set_lowat), and every player
// is drained at both ends of the window.
//
//   cc -O2 -Wall -Wextra -std=gnu11 -o player scripts/load/player.c
//   player <flv|rtmp> <host> <port> <app/stream> <count> <perSecond> <measureSeconds> [settleSeconds=2]
//
// Opens `count` players at `perSecond` (in ~10 ms batches), waits settleSeconds after the last
// one is opened, then writes "MEASURE_START\n" on stderr, measures for measureSeconds, writes one
// JSON line on stdout and exits 0:
//   {"protocol","count","connected","windowSeconds","selfCpu","players":[{"ttfb","ttff","bytes","lastTs","error"}]}
// ttfb/ttff: ms from connect() to the first byte / first video keyframe that is not a sequence
// header (-1 if never); bytes: received inside the window; lastTs: newest video timestamp (ms,
// -1 if none); error: "" while connected, else a short reason; selfCpu: this process's
// user+sys CPU over the window per window second.
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF (256 * 1024)
#define HTTP_HEAD_MAX 8192
#define ACK_WINDOW 2500000u
#define MAX_CMD (64 * 1024)   /* largest command message we keep; bigger ones are skipped */
#define MAX_CS 16             /* chunk streams tracked per RTMP player */
#define PEND_MAX (64 * 1024)  /* unsent output allowed per player before giving up */
#define LOWAT_MS 50           /* SO_RCVLOWAT once streaming: this much media (see set_lowat) */
#define LOWAT_MAX (32 * 1024)

enum { ST_CONNECTING, ST_HTTP_HEAD, ST_FLV, ST_HANDSHAKE, ST_CONNECT, ST_CREATE, ST_PLAY, ST_DONE };

/** Per chunk stream id state (RTMP 1.0 §5.3.1): the last header seen and the message in progress. */
typedef struct {
  uint32_t csid, ts, delta, len, got, msid;
  uint8_t type;
  uint8_t ext;      /* the last fmt 0..2 header carried an extended timestamp */
  uint8_t peek[4];  /* first payload bytes: video frame/codec + AVC packet type, or a control value */
} ChunkStream;

typedef struct {
  uint32_t hsGot;       /* handshake bytes received (S0+S1+S2 = 3073) */
  uint32_t inChunk;     /* the server's chunk size */
  uint32_t outChunk;    /* ours */
  uint32_t left;        /* payload bytes left in the current chunk */
  uint32_t streamId;
  uint8_t hdr[18];      /* chunk header being assembled: 3 basic + 11 message + 4 extended */
  uint8_t hlen, hneed, basic, cur, ncs;
  int8_t cmdCs;         /* chunk stream whose type-20 message is being kept in aux, or -1 */
  ChunkStream cs[MAX_CS];
} RtmpState;

typedef struct {
  uint32_t headLen, skip;
  uint8_t crlf, lineDone, lineLen, have, need, fileHdr;
  char line[64];        /* HTTP status line, for the error message */
  uint8_t scratch[13];  /* tag header + first two body bytes */
} FlvState;

typedef struct {
  int fd;
  uint8_t state;
  double t0, ttfb, ttff;
  uint64_t total, startBytes, lastAck;
  int64_t lastTs;
  int64_t rateTs;       /* video timestamp and byte count at the first keyframe, for SO_RCVLOWAT */
  uint64_t rateBytes;
  uint8_t lowatSet;
  char error[72];
  uint8_t *aux;         /* RTMP: S1 during the handshake, then the command message being kept */
  uint32_t auxLen, auxCap;
  uint8_t *pend;        /* output the socket did not take yet (rare) */
  uint32_t pendLen;
  union { RtmpState r; FlvState f; } u;
} Player;

static int rtmp;  /* protocol: 1 RTMP, 0 HTTP-FLV */
static int ep;
static const char *host, *portS;
static char app[512], streamName[512], path[1024], tcUrl[1200];
static struct sockaddr_storage addr;
static socklen_t addrLen;
static uint8_t rbuf[READ_BUF];

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint32_t be24(const uint8_t *b) { return (uint32_t)b[0] << 16 | b[1] << 8 | b[2]; }
static uint32_t be32(const uint8_t *b) { return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]; }
static uint8_t *put32(uint8_t *o, uint32_t v) { o[0] = v >> 24; o[1] = v >> 16; o[2] = v >> 8; o[3] = v; return o + 4; }

static const char *errname(int e) {
  const char *s = strerrorname_np(e);
  return s ? s : strerror(e);
}

static void fail(Player *p, const char *msg) {
  if (p->error[0] == 0) snprintf(p->error, sizeof p->error, "%s", msg[0] ? msg : "error");
  if (p->fd >= 0) close(p->fd);  /* also leaves the epoll set */
  p->fd = -1;
  p->state = ST_DONE;
  free(p->aux);
  free(p->pend);
  p->aux = p->pend = NULL;
  p->auxLen = p->auxCap = p->pendLen = 0;
}

static void watch(Player *p, uint32_t events, int idx) {
  struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)idx };
  epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
}

// ---- output -------------------------------------------------------------------------------------

/** Sends what the socket takes now and queues the rest (EPOLLOUT then flushes it). */
static void psend(Player *p, int idx, const void *data, size_t len) {
  const uint8_t *d = data;
  if (p->fd < 0) return;
  if (p->pendLen == 0) {
    ssize_t w = send(p->fd, d, len, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { fail(p, errname(errno)); return; }
      w = 0;
    }
    d += w;
    len -= (size_t)w;
    if (len == 0) return;
  }
  if (p->pendLen + len > PEND_MAX) { fail(p, "send backlog"); return; }
  uint8_t *nb = realloc(p->pend, p->pendLen + len);
  if (!nb) { fail(p, "out of memory"); return; }
  memcpy(nb + p->pendLen, d, len);
  p->pend = nb;
  p->pendLen += (uint32_t)len;
  watch(p, EPOLLIN | EPOLLOUT, idx);
}

static void flush_pending(Player *p, int idx) {
  ssize_t w = send(p->fd, p->pend, p->pendLen, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail(p, errname(errno));
    return;
  }
  p->pendLen -= (uint32_t)w;
  memmove(p->pend, p->pend + w, p->pendLen);
  if (p->pendLen == 0) { free(p->pend); p->pend = NULL; watch(p, EPOLLIN, idx); }
}

/** One RTMP message, timestamp 0, fmt 0 header then fmt 3 continuation chunks (csid < 64). */
static void send_msg(Player *p, int idx, uint8_t csid, uint8_t type, uint32_t msid, const uint8_t *pl, uint32_t len) {
  uint8_t out[8192], *o = out;
  *o++ = csid;
  memset(o, 0, 3), o += 3;
  *o++ = len >> 16, *o++ = len >> 8, *o++ = len;
  *o++ = type;
  *o++ = msid, *o++ = msid >> 8, *o++ = msid >> 16, *o++ = msid >> 24;
  for (uint32_t at = 0; at < len;) {
    uint32_t n = len - at < p->u.r.outChunk ? len - at : p->u.r.outChunk;
    if (at > 0) *o++ = 0xC0 | csid;
    memcpy(o, pl + at, n);
    o += n;
    at += n;
  }
  psend(p, idx, out, (size_t)(o - out));
}

static void send_u32(Player *p, int idx, uint8_t type, uint32_t v) {
  uint8_t b[4];
  put32(b, v);
  send_msg(p, idx, 2, type, 0, b, 4);
}

// AMF0 writers (AMF0 spec §2): numbers are big-endian doubles, strings u16-length-prefixed.
static uint8_t *amf_num(uint8_t *o, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  *o++ = 0;
  for (int i = 7; i >= 0; i--) *o++ = (uint8_t)(u >> (i * 8));
  return o;
}
static uint8_t *amf_key(uint8_t *o, const char *s) {
  size_t n = strlen(s);
  *o++ = n >> 8, *o++ = n;
  memcpy(o, s, n);
  return o + n;
}
static uint8_t *amf_str(uint8_t *o, const char *s) { *o++ = 2; return amf_key(o, s); }

// ---- AMF0 reading (only as far as the commands we answer) -----------------------------------------

static long amf_skip(const uint8_t *b, size_t n, size_t pos, int depth);

/** Skips object properties up to and including the end marker (00 00 09). */
static long amf_props(const uint8_t *b, size_t n, size_t pos, int depth) {
  for (;;) {
    if (pos + 3 > n) return -1;
    size_t klen = (size_t)b[pos] << 8 | b[pos + 1];
    if (klen == 0 && b[pos + 2] == 9) return (long)pos + 3;
    long v = amf_skip(b, n, pos + 2 + klen, depth + 1);
    if (v < 0) return -1;
    pos = (size_t)v;
  }
}

/** Returns the offset after the AMF0 value at `pos`, or -1 when malformed or unsupported. */
static long amf_skip(const uint8_t *b, size_t n, size_t pos, int depth) {
  if (pos >= n || depth > 32) return -1;
  size_t end;
  switch (b[pos++]) {
  case 0: end = pos + 8; break;                                   /* number */
  case 1: end = pos + 1; break;                                   /* boolean */
  case 2: if (pos + 2 > n) return -1; end = pos + 2 + (b[pos] << 8 | b[pos + 1]); break;
  case 3: return amf_props(b, n, pos, depth);                     /* object */
  case 5: case 6: case 13: end = pos; break;                      /* null, undefined, unsupported */
  case 7: end = pos + 2; break;                                   /* reference */
  case 8: return pos + 4 > n ? -1 : amf_props(b, n, pos + 4, depth); /* ECMA array */
  case 10: {                                                      /* strict array */
    if (pos + 4 > n) return -1;
    uint32_t count = be32(b + pos);
    long at = (long)pos + 4;
    for (uint32_t i = 0; i < count && at >= 0; i++) at = amf_skip(b, n, (size_t)at, depth + 1);
    return at;
  }
  case 11: end = pos + 10; break;                                 /* date */
  case 12: case 15: if (pos + 4 > n) return -1; end = pos + 4 + be32(b + pos); break; /* long string, XML */
  case 16:                                                        /* typed object */
    if (pos + 2 > n) return -1;
    return amf_props(b, n, pos + 2 + (b[pos] << 8 | b[pos + 1]), depth);
  default: return -1;
  }
  return end <= n ? (long)end : -1;
}

/** Copies an AMF0 string value at `pos` into out (truncated); false if it is not a string. */
static int amf_get_str(const uint8_t *b, size_t n, size_t pos, char *out, size_t cap) {
  if (pos + 3 > n || b[pos] != 2) return 0;
  size_t len = (size_t)b[pos + 1] << 8 | b[pos + 2];
  if (pos + 3 + len > n) return 0;
  size_t k = len < cap - 1 ? len : cap - 1;
  memcpy(out, b + pos + 3, k);
  out[k] = 0;
  return 1;
}

// ---- RTMP -------------------------------------------------------------------------------------------

static void rtmp_send_connect(Player *p, int idx) {
  uint8_t b[4096], *o = b;
  send_u32(p, idx, 1, 4096);  /* Set Chunk Size */
  p->u.r.outChunk = 4096;
  o = amf_str(o, "connect");
  o = amf_num(o, 1);
  *o++ = 3;
  o = amf_key(o, "app"), o = amf_str(o, app);
  o = amf_key(o, "flashVer"), o = amf_str(o, "LNX 9,0,124,2");
  o = amf_key(o, "tcUrl"), o = amf_str(o, tcUrl);
  o = amf_key(o, "fpad"), *o++ = 1, *o++ = 0;
  o = amf_key(o, "capabilities"), o = amf_num(o, 15);
  o = amf_key(o, "audioCodecs"), o = amf_num(o, 3191);
  o = amf_key(o, "videoCodecs"), o = amf_num(o, 252);
  o = amf_key(o, "videoFunction"), o = amf_num(o, 1);
  *o++ = 0, *o++ = 0, *o++ = 9;
  send_msg(p, idx, 3, 20, 0, b, (uint32_t)(o - b));
}

/** A complete command message: answers connect's and createStream's _result, fails on errors. */
static void rtmp_command(Player *p, int idx, const uint8_t *b, size_t n) {
  RtmpState *r = &p->u.r;
  char name[32];
  if (!amf_get_str(b, n, 0, name, sizeof name)) { fail(p, "bad AMF0 command"); return; }
  long at = amf_skip(b, n, 0, 0);
  if (at >= 0) at = amf_skip(b, n, (size_t)at, 0);  /* transaction id */
  if (at < 0) { fail(p, "bad AMF0 command"); return; }
  if (strcmp(name, "_error") == 0) { fail(p, "RTMP _error"); return; }
  if (strcmp(name, "_result") == 0 && p->state == ST_CONNECT) {
    send_u32(p, idx, 5, ACK_WINDOW);  /* Window Acknowledgement Size */
    uint8_t c[64], *o = c;
    o = amf_str(o, "createStream");
    o = amf_num(o, 2);
    *o++ = 5;
    send_msg(p, idx, 3, 20, 0, c, (uint32_t)(o - c));
    p->state = ST_CREATE;
  } else if (strcmp(name, "_result") == 0 && p->state == ST_CREATE) {
    long id = amf_skip(b, n, (size_t)at, 0);  /* the command object (null) */
    if (id >= 0 && (size_t)id + 9 <= n && b[id] == 0) {
      uint64_t u = 0;
      double v;
      for (int i = 1; i <= 8; i++) u = u << 8 | b[id + i];
      memcpy(&v, &u, 8);
      if (v >= 0 && v < 4294967296.0) r->streamId = (uint32_t)v;
    }
    uint8_t c[1200], *o = c;
    o = amf_str(o, "play");
    o = amf_num(o, 0);
    *o++ = 5;
    o = amf_str(o, streamName);
    o = amf_num(o, -2);
    send_msg(p, idx, 8, 20, r->streamId, c, (uint32_t)(o - c));
    uint8_t u[10] = { 0, 3 };  /* User Control: SetBufferLength(stream id, 3000 ms), as ffplay sends */
    put32(put32(u + 2, r->streamId), 3000);
    send_msg(p, idx, 2, 4, 0, u, 10);
    p->state = ST_PLAY;
  } else if (strcmp(name, "onStatus") == 0) {
    long o = amf_skip(b, n, (size_t)at, 0);  /* null */
    if (o < 0 || (size_t)o >= n || b[o] != 3) return;
    size_t pos = (size_t)o + 1;
    while (pos + 3 <= n) {  /* the info object's properties: look for code */
      size_t klen = (size_t)b[pos] << 8 | b[pos + 1];
      if (klen == 0 && b[pos + 2] == 9) break;
      char code[64];
      if (klen == 4 && pos + 6 <= n && memcmp(b + pos + 2, "code", 4) == 0 &&
          amf_get_str(b, n, pos + 6, code, sizeof code)) {
        if (strstr(code, "Failed") || strstr(code, "NotFound") || strstr(code, "Rejected")) fail(p, code);
        break;
      }
      long v = amf_skip(b, n, pos + 2 + klen, 1);
      if (v < 0) break;
      pos = (size_t)v;
    }
  }
}

static ChunkStream *find_cs(RtmpState *r, uint32_t csid) {
  for (int i = 0; i < r->ncs; i++) if (r->cs[i].csid == csid) return &r->cs[i];
  return NULL;
}

/** A complete message on chunk stream cs. Returns -1 when the player is gone. */
static int rtmp_message(Player *p, int idx, ChunkStream *cs, double now) {
  RtmpState *r = &p->u.r;
  switch (cs->type) {
  case 9:
    if ((int64_t)cs->ts > p->lastTs) p->lastTs = cs->ts;
    if (p->ttff < 0 && cs->len >= 2 && cs->peek[0] >> 4 == 1 && !((cs->peek[0] & 15) == 7 && cs->peek[1] == 0))
      p->ttff = now - p->t0;
    break;
  case 1:  /* Set Chunk Size */
    if (cs->len >= 4) {
      r->inChunk = be32(cs->peek) & 0x7fffffff;
      if (r->inChunk == 0) { fail(p, "bad chunk stream"); return -1; }
    }
    break;
  case 2:  /* Abort Message: drop the partial message of that chunk stream */
    if (cs->len >= 4) {
      ChunkStream *a = find_cs(r, be32(cs->peek));
      if (a && a != cs) {
        if (r->cmdCs == a - r->cs) r->cmdCs = -1;
        a->got = 0;
      }
    }
    break;
  case 20:
    if (r->cmdCs == cs - r->cs) {
      r->cmdCs = -1;
      rtmp_command(p, idx, p->aux, cs->len);
    }
    break;
  }
  cs->got = 0;
  return p->fd < 0 ? -1 : 0;
}

/** A complete chunk header in r->hdr: updates its chunk stream and starts the chunk's payload. */
static int rtmp_header(Player *p, int idx, double now) {
  RtmpState *r = &p->u.r;
  const uint8_t *h = r->hdr + r->basic;
  int fmt = r->hdr[0] >> 6;
  ChunkStream *cs = &r->cs[r->cur];
  int newMsg = cs->got == 0;
  if (fmt <= 2) {
    if (!newMsg) { fail(p, "bad chunk stream"); return -1; }  /* new header inside a message */
    uint32_t t = be24(h);
    cs->ext = t == 0xFFFFFF;
    if (cs->ext) t = be32(h + (fmt == 0 ? 11 : fmt == 1 ? 7 : 3));
    if (fmt <= 1) cs->len = be24(h + 3), cs->type = h[6];
    if (fmt == 0) {
      cs->msid = (uint32_t)h[7] | h[8] << 8 | h[9] << 16 | (uint32_t)h[10] << 24;
      cs->ts = t;
      cs->delta = 0;
    } else {
      cs->delta = t;
      cs->ts += t;
    }
  } else if (newMsg) {
    cs->ts += cs->delta;  /* fmt 3 starting a message: same delta as the previous one */
  }
  if (newMsg && cs->type == 20 && r->cmdCs < 0 && cs->len <= MAX_CMD) {
    if (p->auxCap < cs->len) {
      uint8_t *nb = realloc(p->aux, cs->len);
      if (!nb) { fail(p, "out of memory"); return -1; }
      p->aux = nb;
      p->auxCap = cs->len;
    }
    p->auxLen = 0;
    r->cmdCs = (int8_t)r->cur;
  }
  r->left = cs->len - cs->got < r->inChunk ? cs->len - cs->got : r->inChunk;
  if (cs->len == 0) return rtmp_message(p, idx, cs, now);
  return 0;
}

/** Chunk stream bytes after the handshake. Returns -1 when the player is gone. */
static int rtmp_chunks(Player *p, int idx, const uint8_t *d, size_t n, double now) {
  static const uint8_t msgHdr[4] = { 11, 7, 3, 0 };
  RtmpState *r = &p->u.r;
  size_t pos = 0;
  while (pos < n) {
    if (r->left > 0) {  /* chunk payload: keep only what we look at */
      ChunkStream *cs = &r->cs[r->cur];
      size_t k = n - pos < r->left ? n - pos : r->left;
      if (cs->got < 4 && (cs->type == 9 || cs->type == 1 || cs->type == 2)) {
        size_t c = 4 - cs->got < k ? 4 - cs->got : k;
        memcpy(cs->peek + cs->got, d + pos, c);
      }
      if (r->cmdCs == r->cur) memcpy(p->aux + p->auxLen, d + pos, k), p->auxLen += (uint32_t)k;
      cs->got += (uint32_t)k;
      r->left -= (uint32_t)k;
      pos += k;
      if (r->left == 0 && cs->got == cs->len && rtmp_message(p, idx, cs, now) < 0) return -1;
      continue;
    }
    /* chunk header, a byte at a time: its size is known only as it is read */
    uint8_t c = d[pos++];
    r->hdr[r->hlen++] = c;
    if (r->hlen == 1) {
      r->basic = (c & 0x3f) == 0 ? 2 : (c & 0x3f) == 1 ? 3 : 1;
      r->hneed = r->basic + msgHdr[c >> 6];
    }
    int fmt = r->hdr[0] >> 6;
    if (r->hlen == r->basic) {
      uint32_t csid = r->basic == 1 ? (uint32_t)(r->hdr[0] & 0x3f)
                    : r->basic == 2 ? 64u + r->hdr[1] : 64u + r->hdr[1] + r->hdr[2] * 256u;
      ChunkStream *cs = find_cs(r, csid);
      if (!cs) {
        if (fmt != 0 || r->ncs == MAX_CS) { fail(p, "bad chunk stream"); return -1; }
        cs = &r->cs[r->ncs++];
        memset(cs, 0, sizeof *cs);
        cs->csid = csid;
      }
      r->cur = (uint8_t)(cs - r->cs);
      /* extended timestamp repeated on fmt 3 chunks (nginx-rtmp, NMS and edge all send it) */
      if (fmt == 3 && cs->ext) r->hneed += 4;
    }
    if (fmt <= 2 && r->hlen == r->basic + 3 && be24(r->hdr + r->basic) == 0xFFFFFF) r->hneed += 4;
    if (r->hlen < r->hneed) continue;
    r->hlen = 0;
    if (rtmp_header(p, idx, now) < 0) return -1;
  }
  return 0;
}

static void rtmp_data(Player *p, int idx, const uint8_t *d, size_t n, double now) {
  RtmpState *r = &p->u.r;
  if (p->state == ST_HANDSHAKE) {
    /* S0 (1), S1 (1536: echoed as C2 once complete), S2 (1536: ignored) */
    size_t k = 3073 - r->hsGot < n ? 3073 - r->hsGot : n;
    uint32_t before = r->hsGot;
    for (size_t i = 0; i < k; i++, r->hsGot++) {
      if (r->hsGot >= 1 && r->hsGot < 1537) p->aux[r->hsGot - 1] = d[i];
      if (r->hsGot == 0 && d[i] != 3) { fail(p, "bad handshake"); return; }
    }
    if (before < 1537 && r->hsGot >= 1537) psend(p, idx, p->aux, 1536);  /* C2 = S1 */
    if (r->hsGot < 3073 || p->fd < 0) return;
    p->state = ST_CONNECT;
    rtmp_send_connect(p, idx);
    d += k, n -= k;
  }
  if (n > 0 && rtmp_chunks(p, idx, d, n, now) < 0) return;
  if (p->fd >= 0 && p->total - p->lastAck >= ACK_WINDOW) {
    p->lastAck = p->total;
    send_u32(p, idx, 3, (uint32_t)p->total);  /* Acknowledgement */
  }
}

// ---- HTTP-FLV ---------------------------------------------------------------------------------------

static void flv_data(Player *p, const uint8_t *d, size_t n, double now) {
  FlvState *f = &p->u.f;
  size_t pos = 0;
  if (p->state == ST_HTTP_HEAD) {
    while (pos < n && f->crlf < 4) {
      uint8_t c = d[pos++];
      if (!f->lineDone) {
        if (c == '\r' || c == '\n') f->lineDone = 1;
        else if (f->lineLen < sizeof f->line - 1) f->line[f->lineLen++] = (char)c;
      }
      f->crlf = c == "\r\n\r\n"[f->crlf] ? f->crlf + 1 : c == '\r';
      if (++f->headLen > HTTP_HEAD_MAX) { fail(p, "no HTTP header end"); return; }
    }
    if (f->crlf < 4) return;
    f->line[f->lineLen] = 0;
    if ((strncmp(f->line, "HTTP/1.0 200", 12) && strncmp(f->line, "HTTP/1.1 200", 12)) ||
        (f->line[12] != 0 && f->line[12] != ' ')) {
      char msg[80];
      snprintf(msg, sizeof msg, "HTTP %s", f->line);
      fail(p, msg);
      return;
    }
    p->state = ST_FLV;
    f->skip = 0;
    f->fileHdr = 13;  /* 9-byte FLV header + PreviousTagSize0 */
  }
  while (pos < n && f->fileHdr > 0) {
    int i = 13 - f->fileHdr--;
    if (i < 3 && d[pos] != "FLV"[i]) { fail(p, "not FLV"); return; }
    pos++;
  }
  while (pos < n) {
    if (f->skip > 0) {  /* rest of a tag body and its PreviousTagSize: not copied */
      size_t k = n - pos < f->skip ? n - pos : f->skip;
      f->skip -= (uint32_t)k;
      pos += k;
      continue;
    }
    /* the 11-byte tag header first, so that tags shorter than 2 bytes are sized before peeking */
    size_t want = (f->have < 11 ? 11u : f->need) - f->have;
    size_t k = n - pos < want ? n - pos : want;
    memcpy(f->scratch + f->have, d + pos, k);
    f->have += (uint8_t)k;
    pos += k;
    if (f->have == 11 && f->need == 13 && be24(f->scratch + 1) < 2) f->need = (uint8_t)(11 + be24(f->scratch + 1));
    if (f->have < f->need) continue;
    const uint8_t *s = f->scratch;
    uint32_t size = be24(s + 1);
    if ((s[0] & 0x1f) == 9) {
      uint32_t ts = be24(s + 4) | (uint32_t)s[7] << 24;
      if ((int64_t)ts > p->lastTs) p->lastTs = ts;
      if (p->ttff < 0 && size >= 2 && s[11] >> 4 == 1 && !((s[11] & 15) == 7 && s[12] == 0)) p->ttff = now - p->t0;
    }
    f->skip = size - (f->need - 11u) + 4;
    f->have = 0;
    f->need = 13;
  }
}

// ---- connections ------------------------------------------------------------------------------------

static void open_player(Player *p, int idx) {
  memset(p, 0, sizeof *p);
  p->ttfb = p->ttff = -1;
  p->lastTs = p->rateTs = -1;
  p->state = ST_CONNECTING;
  if (rtmp) { p->u.r.inChunk = 128; p->u.r.outChunk = 128; p->u.r.cmdCs = -1; }
  else p->u.f.need = 13;
  p->t0 = now_ms();
  p->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->fd < 0) { fail(p, errname(errno)); return; }
  int one = 1;
  setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(p->fd, (struct sockaddr *)&addr, addrLen) < 0 && errno != EINPROGRESS) { fail(p, errname(errno)); return; }
  struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)idx };
  if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) < 0) fail(p, errname(errno));
}

static void on_connected(Player *p, int idx) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) { fail(p, errname(err)); return; }
  watch(p, EPOLLIN, idx);
  if (!rtmp) {
    char req[1400];
    int n = snprintf(req, sizeof req, "GET /%s HTTP/1.0\r\nHost: %s:%s\r\n\r\n", path, host, portS);
    p->state = ST_HTTP_HEAD;
    psend(p, idx, req, (size_t)n);
    return;
  }
  /* C0 (version 3) + C1: 4-byte time, 4 zero bytes, 1528 "random" (zero) bytes */
  static uint8_t c01[1537];
  c01[0] = 3;
  put32(c01 + 1, (uint32_t)(now_ms()));
  p->aux = malloc(4096);
  if (!p->aux) { fail(p, "out of memory"); return; }
  p->auxCap = 4096;
  p->state = ST_HANDSHAKE;
  psend(p, idx, c01, sizeof c01);
}

/* Reading each socket as soon as anything arrives costs a wake-up and a read per server write
 * (on loopback also the TCP work the read triggers): ~9 µs each in a 2-vCPU VM, 0.9 core at
 * 2,000 players × 2 Mbit/s from nginx-rtmp, nearly all of it kernel time. Once a player streams,
 * SO_RCVLOWAT makes the kernel wake us only when LOWAT_MS of its media is waiting (bytes per
 * media ms measured over the first second of video timestamps after the first keyframe, so that
 * a GOP-cache burst does not inflate it): ~4× fewer reads, ~0.3 core. Inside the window bytes
 * and lastTs lag by up to that much; at its ends drain() reads everything. */
static void set_lowat(Player *p) {
  if (p->rateTs < 0) { p->rateTs = p->lastTs; p->rateBytes = p->total; return; }
  if (p->lastTs - p->rateTs < 1000) return;
  uint64_t lw = (p->total - p->rateBytes) * LOWAT_MS / (uint64_t)(p->lastTs - p->rateTs);
  int v = lw > LOWAT_MAX ? LOWAT_MAX : (int)lw;
  if (v >= 2048) setsockopt(p->fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v);
  p->lowatSet = 1;
}

static void on_event(Player *p, int idx, uint32_t events) {
  if (p->fd < 0) return;
  if (p->state == ST_CONNECTING) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(p, idx);
    return;
  }
  if ((events & EPOLLOUT) && p->pendLen > 0) flush_pending(p, idx);
  if (p->fd < 0 || !(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  /* one read per wake-up unless it filled the buffer; level triggering brings us back */
  for (int i = 0; i < 8 && p->fd >= 0; i++) {
    ssize_t n = read(p->fd, rbuf, sizeof rbuf);
    if (n == 0) { fail(p, "closed"); return; }
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail(p, errname(errno));
      return;
    }
    double now = now_ms();
    if (p->ttfb < 0) p->ttfb = now - p->t0;
    p->total += (uint64_t)n;
    if (rtmp) rtmp_data(p, idx, rbuf, (size_t)n, now);
    else flv_data(p, rbuf, (size_t)n, now);
    if (!p->lowatSet && p->ttff >= 0 && p->fd >= 0) set_lowat(p);
    if ((size_t)n < sizeof rbuf) return;
  }
}

/** Reads what every player has waiting, below its SO_RCVLOWAT too, so that bytes and lastTs are
 * exact at both ends of the window. */
static void drain(Player *players, int count) {
  for (int i = 0; i < count; i++)
    if (players[i].fd >= 0 && players[i].state != ST_CONNECTING) on_event(&players[i], i, EPOLLIN);
}

// ---- main -------------------------------------------------------------------------------------------

static void usage(void) {
  fputs("usage: player <flv|rtmp> <host> <port> <app/stream> <count> <perSecond> <measureSeconds> [settleSeconds=2]\n", stderr);
  exit(2);
}

static double number(const char *s, double min) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end || !(v >= min) || v > 1e9) usage();
  return v;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void json_str(FILE *o, const char *s) {
  fputc('"', o);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(o, "\\%c", *c);
    else if (*c < 0x20 || *c >= 0x7f) fprintf(o, "\\u%04x", *c);  /* bytes read as latin1 */
    else fputc(*c, o);
  }
  fputc('"', o);
}

static void json_ms(FILE *o, double v) {
  if (v < 0) fputs("-1", o);
  else fprintf(o, "%.1f", v);
}

int main(int argc, char **argv) {
  if (argc < 8 || argc > 9) usage();
  if (strcmp(argv[1], "rtmp") == 0) rtmp = 1;
  else if (strcmp(argv[1], "flv") != 0) usage();
  host = argv[2];
  portS = argv[3];
  const char *clean = argv[4][0] == '/' ? argv[4] + 1 : argv[4];
  const char *slash = strchr(clean, '/');
  if (!slash || slash == clean || !slash[1] || strlen(clean) >= sizeof app || strlen(host) > 255 || strlen(portS) > 5) usage();
  snprintf(path, sizeof path, "%s", clean);
  snprintf(app, sizeof app, "%.*s", (int)(slash - clean), clean);
  snprintf(streamName, sizeof streamName, "%s", slash + 1);
  snprintf(tcUrl, sizeof tcUrl, "rtmp://%s:%s/%s", host, portS, app);
  int count = (int)number(argv[5], 1);
  double rate = number(argv[6], 1e-9);
  double measureMs = number(argv[7], 0) * 1000;
  double settleMs = (argc > 8 ? number(argv[8], 0) : 2) * 1000;

  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
  int rc = getaddrinfo(host, portS, &hints, &ai);
  if (rc != 0) { fprintf(stderr, "player: %s: %s\n", host, gai_strerror(rc)); return 2; }
  memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
  addrLen = ai->ai_addrlen;
  freeaddrinfo(ai);

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
  signal(SIGPIPE, SIG_IGN);
  ep = epoll_create1(EPOLL_CLOEXEC);
  Player *players = calloc((size_t)count, sizeof *players);
  if (ep < 0 || !players) { perror("player"); return 1; }

  enum { RAMP, SETTLE, MEASURE } phase = RAMP;
  int opened = 0;
  double tStart = now_ms(), deadline = 0, w0 = 0, cpu0 = 0;
  struct epoll_event evs[1024];
  for (;;) {
    double now = now_ms();
    if (phase == RAMP) {
      /* open `rate` players per second; the loop wakes every 10 ms to open the next batch */
      double due = (double)(long long)((now - tStart) / 1000 * rate) + 1;
      while (opened < count && opened < due) open_player(&players[opened], opened), opened++;
      if (opened == count) phase = SETTLE, deadline = now_ms() + settleMs;
    }
    if (phase == SETTLE && now >= deadline) {
      drain(players, count);
      for (int i = 0; i < count; i++) players[i].startBytes = players[i].total;
      cpu0 = cpu_seconds();
      w0 = now_ms();
      if (write(2, "MEASURE_START\n", 14) < 0) { /* nobody listening: measure anyway */ }
      phase = MEASURE;
      deadline = w0 + measureMs;
    }
    if (phase == MEASURE && now >= deadline) { drain(players, count); break; }
    int timeout = phase == RAMP ? 10 : (int)(deadline - now) + 1;
    int n = epoll_wait(ep, evs, sizeof evs / sizeof evs[0], timeout < 0 ? 0 : timeout);
    for (int i = 0; i < n; i++) {
      int idx = (int)evs[i].data.u64;
      on_event(&players[idx], idx, evs[i].events);
    }
  }
  double windowSeconds = (now_ms() - w0) / 1000;
  double cpu = cpu_seconds() - cpu0;

  int connected = 0;
  for (int i = 0; i < count; i++) connected += players[i].error[0] == 0;
  static char obuf[1 << 20];
  setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
  printf("{\"protocol\":\"%s\",\"count\":%d,\"connected\":%d,\"windowSeconds\":%.6f,\"selfCpu\":%.6f,\"players\":[",
         rtmp ? "rtmp" : "flv", count, connected, windowSeconds, windowSeconds > 0 ? cpu / windowSeconds : 0);
  for (int i = 0; i < count; i++) {
    Player *p = &players[i];
    fputs(i ? ",{\"ttfb\":" : "{\"ttfb\":", stdout);
    json_ms(stdout, p->ttfb);
    fputs(",\"ttff\":", stdout);
    json_ms(stdout, p->ttff);
    printf(",\"bytes\":%llu,\"lastTs\":%lld,\"error\":", (unsigned long long)(p->total - p->startBytes), (long long)p->lastTs);
    json_str(stdout, p->error);
    fputc('}', stdout);
  }
  fputs("]}\n", stdout);
  fflush(stdout);
  for (int i = 0; i < count; i++) {
    if (players[i].fd >= 0) close(players[i].fd);
    free(players[i].aux);
    free(players[i].pend);
  }
  free(players);
  close(ep);
  return 0;
}
