/**
 * A client must not keep its process alive: a script that forgets `close()`
 * should still exit. Its timers are unref'd, but a ZeroMQ socket with a
 * receive pending (the client always listens for subscriptions) holds the
 * event loop open, and Node never reaches `beforeExit`.
 *
 * So the client checks, on its unref'd once-a-second tick, whether anything
 * else is keeping the process alive. `process.getActiveResourcesInfo()` lists
 * the app's ref'd timers, requests (file, DNS, connect …) and handles (servers,
 * child processes, workers) but not unref'd timers nor libzmq's sockets. When
 * it lists nothing that keeps Node alive, the app has nothing left to do: the
 * client sends what it holds (bounded) and closes, exactly what `beforeExit`
 * would have allowed.
 *
 * Limitation: an app whose only activity is ZeroMQ sockets of its own is
 * indistinguishable from a finished one; such an app should keep a ref'd
 * handle (any timer) or simply call `close()` itself when it is done.
 */

/**
 * Stream handles that stay listed once created although they keep Node alive
 * only while reading or writing: stdout/stderr on a terminal or a pipe, a
 * connected socket.
 */
const STREAM_RESOURCES = new Set(['TTYWrap', 'PipeWrap', 'TCPWrap']);

interface StreamLike {
  writableLength?: number;
  _handle?: { reading?: boolean; writeQueueSize?: number } | null;
}

/** True when nothing but the client itself (and idle streams) keeps the process alive. */
export function processLooksFinished(): boolean {
  let streams = false;
  for (const r of process.getActiveResourcesInfo()) {
    if (!STREAM_RESOURCES.has(r)) return false;
    streams = true;
  }
  if (!streams) return true;
  // net.Socket marks a handle it reads from with `reading` (stdin, a socket);
  // pending writes keep Node alive until they are flushed.
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  return !handles.some((h) => {
    const s = h as StreamLike | null;
    return s?._handle?.reading === true || (s?.writableLength ?? 0) > 0 || (s?._handle?.writeQueueSize ?? 0) > 0;
  });
}
