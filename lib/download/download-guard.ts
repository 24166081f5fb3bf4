/**
 * The one door through which the worker reaches the network: a GET on the package URL that
 * follows at most five redirects, checks every hop's scheme and every resolved address
 * (the connection goes to exactly the address that was checked), and enforces connect, idle
 * and total timeouts and the size cap declared by Content-Length. The body is returned as a
 * stream; timeouts keep applying while it is read.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { addressPolicy, type AddressPolicy } from './address-policy';
import { checkScheme } from '../core/package-request';
import { retryAfterSeconds } from './retry-after';
import {
  PackageDownloadFailedError,
  PackageDownloadTimeoutError,
  PackageTooLargeError,
  PackageUrlUnavailableError,
  ServiceError,
  UrlNotAllowedError,
} from '../core/errors';

export const MAX_REDIRECTS = 5;

export interface DownloadLimits {
  allowPrivate: boolean;
  /** Host names allowed (empty: any public host) and refused; `*.example.com` matches subdomains. */
  allowedHosts: readonly string[];
  deniedHosts: readonly string[];
  maxBytes: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** When the whole download must have ended, on the monotonic clock (`performance.now()` milliseconds). */
  deadline: number;
}

export interface Download {
  body: Readable;
  /**
   * How the HTTP exchange ended once its connection closed: undefined when cleanly, else the
   * transport's failure — including one seen after the body's last byte (the remote sending
   * more than it declared, or breaking the connection).
   */
  exchange: Promise<ServiceError | undefined>;
  /** Bytes the server declared, if it did. */
  contentLength: number | undefined;
  contentDisposition: string | undefined;
  finalUrl: URL;
}

export type Resolver = (hostname: string, callback: (error: Error | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, callback) => dnsLookup(hostname, { all: true, verbatim: true }, callback);

/** What tests may replace: name resolution, the address policy, and the TLS trust store. */
export interface Network {
  resolve?: Resolver;
  policy?: AddressPolicy;
  /** Certificate authorities to trust instead of Node's bundled ones. */
  ca?: string;
}

export async function openDownload(rawUrl: string, limits: DownloadLimits, network: Network = {}): Promise<Download> {
  const policy = network.policy ?? addressPolicy(limits.allowPrivate);
  const resolve = network.resolve ?? systemResolver;
  const original = new URL(rawUrl);
  let url = original;
  for (let hop = 0; ; hop++) {
    checkUrl(url, original, policy, limits);
    const { response, exchange } = await request(url, original, limits, policy, resolve, network.ca);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      response.destroy();
      if (hop >= MAX_REDIRECTS) {
        throw new PackageUrlUnavailableError(`The package URL redirected more than ${MAX_REDIRECTS} times`);
      }
      url = nextHop(url, response.headers.location);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.destroy();
      throw failedStatus(status, response.headers['retry-after']);
    }
    const declared = response.headers['content-length'];
    const contentLength = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
    if (contentLength !== undefined && contentLength > limits.maxBytes) {
      response.destroy();
      throw new PackageTooLargeError(limits.maxBytes);
    }
    return {
      body: response,
      exchange,
      contentLength,
      contentDisposition: response.headers['content-disposition'],
      finalUrl: url,
    };
  }
}

/**
 * A remote's non-2xx answer in the service's vocabulary: a 4xx other than 408 and 429 will not
 * change by itself (docs/api.md#what-to-retry); the rest is transient and passes on Retry-After.
 */
function failedStatus(status: number, retryAfter: string | undefined): ServiceError {
  if (status >= 300 && status < 400) return new PackageUrlUnavailableError(`The package URL answered HTTP ${status} without a Location`);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return new PackageUrlUnavailableError(`The package URL answered HTTP ${status}`);
  const transient = status >= 500 || status === 408 || status === 429;
  const wait = transient ? retryAfterSeconds(retryAfter, Date.now()) : undefined;
  return new PackageDownloadFailedError(`The package URL answered HTTP ${status}.`, { transient, retryAfterSeconds: wait });
}

function nextHop(from: URL, location: string): URL {
  try {
    return new URL(location, from);
  } catch {
    throw new PackageUrlUnavailableError('The package URL redirected to an invalid location');
  }
}

/** Whether `host` is named by a list entry: `example.com` exactly, `*.example.com` its subdomains. */
export function hostMatches(host: string, entries: readonly string[]): boolean {
  return entries.some((entry) => (entry.startsWith('*.') ? host.endsWith(entry.slice(1)) : host === entry));
}

function checkUrl(url: URL, original: URL, policy: AddressPolicy, limits: DownloadLimits): void {
  checkScheme(url);
  if (original.protocol === 'https:' && url.protocol === 'http:') {
    throw new UrlNotAllowedError('The package URL redirected from https to http.');
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (hostMatches(host, limits.deniedHosts)) throw new UrlNotAllowedError(`The host "${host}" is not allowed.`);
  if (limits.allowedHosts.length > 0 && !hostMatches(host, limits.allowedHosts)) {
    throw new UrlNotAllowedError(`The host "${host}" is not on the list of allowed hosts.`);
  }
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal)) {
    const refusal = policy.refusal(literal);
    if (refusal) throw new UrlNotAllowedError(`The package URL is not allowed: ${refusal}.`);
  }
}

/** A lookup for http.request that refuses the host when ANY of its addresses is refused. */
function guardedLookup(policy: AddressPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, (error, addresses) => {
      if (error) {
        // ENOTFOUND is the name itself (no such host, no address record); anything else — EAI_AGAIN,
        // a resolver failure, out of file descriptors — may answer differently next time.
        const failure =
          (error as NodeJS.ErrnoException).code === 'ENOTFOUND'
            ? new PackageUrlUnavailableError(`The package URL's host "${hostname}" does not resolve`, { cause: error })
            : new PackageDownloadFailedError(`The package URL's host "${hostname}" could not be resolved.`, { cause: error, transient: true });
        callback(failure, '', 0);
        return;
      }
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      const refused = addresses.map((a) => policy.refusal(a.address)).find(Boolean);
      if (refused) return callback(new UrlNotAllowedError(`The package URL is not allowed: ${refused}.`), '', 0);
      const first = wanted[0];
      if (!first) {
        callback(new PackageUrlUnavailableError(`The package URL's host "${hostname}" has no usable address`), '', 0);
      } else if (options.all) {
        callback(null, wanted);
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}

function request(
  url: URL,
  original: URL,
  limits: DownloadLimits,
  policy: AddressPolicy,
  resolve: Resolver,
  ca: string | undefined,
): Promise<{ response: IncomingMessage; exchange: Promise<ServiceError | undefined> }> {
  return new Promise((resolveResponse, reject) => {
    const remaining = limits.deadline - performance.now();
    if (remaining <= 0) {
      reject(new PackageDownloadTimeoutError('The download ran out of time.'));
      return;
    }
    // Credentials written in the URL go to the origin they were written for, never elsewhere.
    const sameOrigin = url.origin === original.origin;
    const auth =
      sameOrigin && original.username ? `${decodeURIComponent(original.username)}:${decodeURIComponent(original.password)}` : undefined;
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, {
      method: 'GET',
      auth,
      agent: false,
      lookup: guardedLookup(policy, resolve),
      ...(ca === undefined ? {} : { ca }),
      headers: { 'user-agent': 'bkpaas-source-package-link/1', accept: '*/*', 'accept-encoding': 'identity' },
    });

    let settled = false;
    let response: IncomingMessage | undefined;
    // The body stream gets the error first, so its reader sees why (streams keep the first error).
    const fail = (error: Error): void => {
      response?.destroy(error);
      req.destroy(error);
    };
    const totalTimer = setTimeout(
      () => fail(new PackageDownloadTimeoutError('The download did not finish within its time limit.')),
      remaining,
    );
    totalTimer.unref();

    req.on('socket', (socket) => {
      const connectTimer = setTimeout(
        () => fail(new PackageDownloadTimeoutError(`Could not connect to the package URL within ${limits.connectTimeoutMs} ms.`)),
        limits.connectTimeoutMs,
      );
      connectTimer.unref();
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
      socket.setTimeout(limits.idleTimeoutMs, () =>
        fail(new PackageDownloadTimeoutError(`The package URL sent nothing for ${limits.idleTimeoutMs} ms.`)),
      );
    });

    req.on('error', (error) => {
      clearTimeout(totalTimer);
      if (!settled) {
        settled = true;
        reject(asDownloadError(error));
      }
    });

    req.on('response', (res) => {
      settled = true;
      response = res;
      let failure: ServiceError | undefined;
      // From here on, failures surface as errors of the body stream, with the same vocabulary.
      req.removeAllListeners('error');
      req.on('error', (error) => {
        failure ??= asDownloadError(error);
        res.destroy(failure);
      });
      res.on('error', (error) => {
        failure ??= asDownloadError(error);
      });
      res.once('close', () => clearTimeout(totalTimer));
      const exchange = new Promise<ServiceError | undefined>((resolveExchange) => req.once('close', () => resolveExchange(failure)));
      resolveResponse({ response: res, exchange });
    });

    req.end();
  });
}

/** Any failure met while downloading, in the service's vocabulary. */
export function asDownloadError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return new PackageDownloadFailedError('The package URL refused the connection.', { cause: error, transient: true });
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE') {
    return new PackageDownloadFailedError('The connection closed before the package was complete.', { cause: error, transient: true });
  }
  return new PackageDownloadFailedError('The package could not be downloaded.', { cause: error, transient: true });
}
