// System-call failures in nginx's words: `open() "/x/logs/edge.pid" failed (2: No such file or
// directory)`, `connect() to 127.0.0.1:1935 failed (111: Connection refused)`. The number and
// text of an errno are Linux's (glibc's strerror, what nginx prints through ngx_strerror); the
// table holds every errno name Node reports (os.constants.errno on Linux).

const ERRNO: Readonly<Record<string, readonly [number, string]>> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  ESRCH: [3, 'No such process'],
  EINTR: [4, 'Interrupted system call'],
  EIO: [5, 'Input/output error'],
  ENXIO: [6, 'No such device or address'],
  E2BIG: [7, 'Argument list too long'],
  ENOEXEC: [8, 'Exec format error'],
  EBADF: [9, 'Bad file descriptor'],
  ECHILD: [10, 'No child processes'],
  EAGAIN: [11, 'Resource temporarily unavailable'],
  EWOULDBLOCK: [11, 'Resource temporarily unavailable'],
  ENOMEM: [12, 'Cannot allocate memory'],
  EACCES: [13, 'Permission denied'],
  EFAULT: [14, 'Bad address'],
  EBUSY: [16, 'Device or resource busy'],
  EEXIST: [17, 'File exists'],
  EXDEV: [18, 'Invalid cross-device link'],
  ENODEV: [19, 'No such device'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  EINVAL: [22, 'Invalid argument'],
  ENFILE: [23, 'Too many open files in system'],
  EMFILE: [24, 'Too many open files'],
  ENOTTY: [25, 'Inappropriate ioctl for device'],
  ETXTBSY: [26, 'Text file busy'],
  EFBIG: [27, 'File too large'],
  ENOSPC: [28, 'No space left on device'],
  ESPIPE: [29, 'Illegal seek'],
  EROFS: [30, 'Read-only file system'],
  EMLINK: [31, 'Too many links'],
  EPIPE: [32, 'Broken pipe'],
  EDOM: [33, 'Numerical argument out of domain'],
  ERANGE: [34, 'Numerical result out of range'],
  EDEADLK: [35, 'Resource deadlock avoided'],
  ENAMETOOLONG: [36, 'File name too long'],
  ENOLCK: [37, 'No locks available'],
  ENOSYS: [38, 'Function not implemented'],
  ENOTEMPTY: [39, 'Directory not empty'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  ENOMSG: [42, 'No message of desired type'],
  EIDRM: [43, 'Identifier removed'],
  ENOSTR: [60, 'Device not a stream'],
  ENODATA: [61, 'No data available'],
  ETIME: [62, 'Timer expired'],
  ENOSR: [63, 'Out of streams resources'],
  ENOLINK: [67, 'Link has been severed'],
  EPROTO: [71, 'Protocol error'],
  EMULTIHOP: [72, 'Multihop attempted'],
  EBADMSG: [74, 'Bad message'],
  EOVERFLOW: [75, 'Value too large for defined data type'],
  EILSEQ: [84, 'Invalid or incomplete multibyte or wide character'],
  ENOTSOCK: [88, 'Socket operation on non-socket'],
  EDESTADDRREQ: [89, 'Destination address required'],
  EMSGSIZE: [90, 'Message too long'],
  EPROTOTYPE: [91, 'Protocol wrong type for socket'],
  ENOPROTOOPT: [92, 'Protocol not available'],
  EPROTONOSUPPORT: [93, 'Protocol not supported'],
  ENOTSUP: [95, 'Operation not supported'],
  EOPNOTSUPP: [95, 'Operation not supported'],
  EAFNOSUPPORT: [97, 'Address family not supported by protocol'],
  EADDRINUSE: [98, 'Address already in use'],
  EADDRNOTAVAIL: [99, 'Cannot assign requested address'],
  ENETDOWN: [100, 'Network is down'],
  ENETUNREACH: [101, 'Network is unreachable'],
  ENETRESET: [102, 'Network dropped connection on reset'],
  ECONNABORTED: [103, 'Software caused connection abort'],
  ECONNRESET: [104, 'Connection reset by peer'],
  ENOBUFS: [105, 'No buffer space available'],
  EISCONN: [106, 'Transport endpoint is already connected'],
  ENOTCONN: [107, 'Transport endpoint is not connected'],
  ETIMEDOUT: [110, 'Connection timed out'],
  ECONNREFUSED: [111, 'Connection refused'],
  EHOSTUNREACH: [113, 'No route to host'],
  EALREADY: [114, 'Operation already in progress'],
  EINPROGRESS: [115, 'Operation now in progress'],
  ESTALE: [116, 'Stale file handle'],
  EDQUOT: [122, 'Disk quota exceeded'],
  ECANCELED: [125, 'Operation canceled'],
}

/**
 * `(2: No such file or directory)`, the errno suffix of nginx's system-call errors. An error
 * that carries no errno (a Node error of its own) is shown by its message instead.
 */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  const known = e.code === undefined ? undefined : ERRNO[e.code]
  if (known !== undefined) return `(${known[0]}: ${known[1]})`
  return `(${e.message ?? String(err)})`
}

/**
 * Node's names of the calls that fail on sockets → the calls nginx names for the same failure:
 * a socket read is recv(), edge's writes are writev(), a listen fails in bind(), a full
 * descriptor table in accept4().
 */
const NGINX_CALL: Readonly<Record<string, string>> = { read: 'recv', write: 'writev', listen: 'bind', accept: 'accept4' }

/**
 * A failed system call as nginx words it: `bind() to 0.0.0.0:1935 failed (98: Address already
 * in use)`, `recv() failed (104: Connection reset by peer)`, `open() "/x" failed (13: ...)`.
 * An error that is no system call's is its message.
 */
export function syscallFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string, port?: number }
  if (e.syscall === undefined) return e.message ?? String(err)
  const call = NGINX_CALL[e.syscall] ?? e.syscall
  let what = ''
  if (e.path !== undefined) what = ` "${e.path}"`
  else if (e.address !== undefined) what = ` to ${e.address}${e.port === undefined ? '' : `:${e.port}`}`
  return `${call}()${what} failed ${errnoText(e)}`
}

/**
 * The rcode and text nginx's resolver prints for each way a lookup fails
 * (ngx_resolver_strerror); Node's codes for them, from c-ares and from getaddrinfo.
 */
const RESOLVER_ERROR: Readonly<Record<string, readonly [number, string]>> = {
  EFORMERR: [1, 'Format error'],
  ESERVFAIL: [2, 'Server failure'],
  // getaddrinfo's "temporary failure": glibc's answer to a SERVFAIL or to no answer at all
  EAI_AGAIN: [2, 'Server failure'],
  ENOTFOUND: [3, 'Host not found'],
  ENODATA: [3, 'Host not found'],
  ENOTIMP: [4, 'Unimplemented'],
  EREFUSED: [5, 'Operation refused'],
  ETIMEOUT: [110, 'Operation timed out'],
}

/** A failed lookup as nginx's resolver words it: `cam.example could not be resolved (3: Host not found)`. */
export function resolveFailure(host: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  const known = code === undefined ? undefined : RESOLVER_ERROR[code]
  return `${host} could not be resolved ${known === undefined ? errnoText(err) : `(${known[0]}: ${known[1]})`}`
}

/** The resolver's words for a lookup that did not finish in time. */
export function resolveTimedOut(host: string): string {
  return resolveFailure(host, { code: 'ETIMEOUT' })
}
