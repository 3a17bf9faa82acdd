import { parseRetryAfterMs } from './backoff.js';
import { DeliveryError } from './delivery-error.js';

/** One HTTP request a transport makes. */
export interface HttpPostRequest {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
}

/**
 * POSTs a body and classifies the answer: 2xx succeeds; 429 and 5xx throw a
 * retryable DeliveryError carrying `Retry-After`; any other status throws a
 * permanent one quoting the start of the response body (the destination's
 * reason). Network errors and timeouts are retryable.
 */
export async function httpPost(req: HttpPostRequest): Promise<void> {
  let res: Response;
  try {
    res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(req.timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new DeliveryError(`POST ${stripUserinfo(req.url)} failed: ${why}`, { retryable: true, cause: err });
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return;
  const snippet = text.length > 300 ? text.slice(0, 300) + '…' : text;
  const retryable = res.status === 429 || res.status >= 500;
  throw new DeliveryError(`POST ${stripUserinfo(req.url)} answered ${res.status}${snippet ? `: ${snippet.trim()}` : ''}`, {
    retryable,
    retryAfterMs: retryable ? parseRetryAfterMs(res.headers.get('retry-after')) : undefined,
  });
}

function stripUserinfo(url: string): string {
  return url.replace(/(\w+:\/\/)[^/@\s]+@/, '$1');
}
