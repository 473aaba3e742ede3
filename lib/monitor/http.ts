/** The monitor's HTTP GET: status, parsed JSON body (when it is JSON) and latency; aborted with the check. */

export interface HttpAnswer {
  url: string;
  status: number;
  /** The parsed body when it was JSON, else the text (first 500 characters). */
  body: unknown;
  ms: number;
}

export async function httpGet(url: string, signal: AbortSignal): Promise<HttpAnswer> {
  const began = performance.now();
  const res = await fetch(url, { signal, headers: { accept: 'application/json' } });
  const text = await res.text();
  let body: unknown = text.slice(0, 500);
  if (/json/.test(res.headers.get('content-type') ?? '')) {
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
  }
  return { url, status: res.status, body, ms: Math.round(performance.now() - began) };
}

/** The answer, or the error it failed with (so one row can report on two requests). */
export async function httpTry(url: string, signal: AbortSignal): Promise<HttpAnswer | Error> {
  try {
    return await httpGet(url, signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason; // the check's time is up: report that, not "aborted"
    return err instanceof Error ? err : new Error(String(err));
  }
}
