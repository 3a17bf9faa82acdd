/**
 * A client must not keep its process alive: a script that forgets `close()`
 * should still exit. Its timers are unref'd, but a ZeroMQ socket with a
 * receive pending (the client always listens for subscriptions) holds the
 * event loop open, and Node never reaches `beforeExit`.
 *
 * So the client checks, on its unref'd once-a-second tick, whether anything
 * else is keeping the process alive. `process.getActiveResourcesInfo()` lists
 * the app's ref'd handles and requests (timers, sockets, files, child
 * processes, workers) but not unref'd timers nor libzmq's sockets. When it is
 * empty the app has nothing left to do: the client sends what it holds
 * (bounded) and closes, exactly what `beforeExit` would have allowed.
 *
 * Limitation: an app whose only activity is ZeroMQ sockets of its own is
 * indistinguishable from a finished one; such an app should keep a ref'd
 * handle (any timer) or simply call `close()` itself when it is done.
 */
export function processLooksFinished(): boolean {
  return process.getActiveResourcesInfo().length === 0;
}
