// The guard against server-side request forgery. Webhook URLs are chosen by API clients; without this a client
// could make Kith POST to services on its own machine, to the private network or to the cloud metadata service.
// Addresses are checked twice: a literal IP when the URL is saved, and every address a name resolves to when the
// connection is made (a name may point elsewhere by then: DNS rebinding). Only ordinary public unicast addresses
// pass; an operator allowlist (KITH_WEBHOOK_ALLOWED_HOSTS) opens exceptions for local development and the tests.
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** One allowlist entry: a host (name or IP, as written in the URL) with an optional port, or a CIDR range. */
export type AllowRule = { host: string; port: number | undefined } | { cidr: [Address, number] };

/** Names that reach the cloud metadata service without looking like an address. */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data']);

/** Thrown from the connection's DNS lookup; the attempt fails with its message. */
export class RefusedDestination extends Error {
  readonly code = 'KITH_REFUSED_DESTINATION';
}

/** Parses one KITH_WEBHOOK_ALLOWED_HOSTS entry; throws with a readable message when it is none of the forms. */
export function parseAllowRule(entry: string): AllowRule {
  const text = entry.trim().toLowerCase();
  if (text.includes('/')) {
    if (!ipaddr.isValidCIDR(text)) throw new Error(`"${entry}" is not a CIDR range`);
    return { cidr: ipaddr.parseCIDR(text) };
  }
  // host, host:port, [v6], [v6]:port — parsed the way a URL would be, so it compares with URL.hostname/port.
  let url: URL;
  try {
    url = new URL(`http://${text}`);
  } catch {
    throw new Error(`"${entry}" is not a host, host:port or CIDR range`);
  }
  if (url.pathname !== '/' || url.username || url.search || url.hash) {
    throw new Error(`"${entry}" is not a host, host:port or CIDR range`);
  }
  return { host: bare(url.hostname), port: url.port === '' ? undefined : Number(url.port) };
}

/** The URL's host without IPv6 brackets, lower-case. */
function bare(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** ipaddr.js's names of the ranges a person reads most often, as they would write them. */
const RANGE_NAMES: Record<string, string> = {
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'carrier-grade NAT',
};

/** Why an address is refused (its special-purpose range, e.g. `loopback`), or undefined for a public one. */
export function refusedRange(address: string): string | undefined {
  // process() turns an IPv4-mapped IPv6 address (::ffff:127.0.0.1) into the IPv4 address it stands for.
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? undefined : (RANGE_NAMES[range] ?? range);
}

export class DestinationGuard {
  private readonly hostRules: Array<{ host: string; port: number | undefined }> = [];
  private readonly cidrRules: Array<[Address, number]> = [];
  /** For hosts the allowlist names: connects wherever they resolve. */
  private readonly trusted: Agent;
  /** For everything else: every resolved address is checked before the socket connects. */
  private readonly guarded: Agent;

  /** `timeoutMs` bounds connecting, waiting for the answer's headers, and each wait for its body. */
  constructor(allowlist: readonly string[], timeoutMs: number) {
    for (const entry of allowlist) {
      const rule = parseAllowRule(entry);
      if ('cidr' in rule) this.cidrRules.push(rule.cidr);
      else this.hostRules.push(rule);
    }
    const options = { headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
    this.trusted = new Agent({ ...options, connect: { timeout: timeoutMs } });
    this.guarded = new Agent({ ...options, connect: { timeout: timeoutMs, lookup: this.lookup } });
  }

  /**
   * Why `url` may not be called, or undefined when it may. Checks what can be known without DNS: the scheme,
   * credentials, a literal IP address and the metadata names. Names are checked again at connect time.
   */
  refusal(url: URL): string | undefined {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use http or https';
    if (url.username !== '' || url.password !== '') return 'must not contain credentials';
    if (this.hostAllowed(url)) return undefined;
    const host = bare(url.hostname);
    if (net.isIP(host) !== 0) {
      if (this.cidrAllowed(host)) return undefined;
      const range = refusedRange(host);
      return range === undefined ? undefined : `is a ${range} address, which webhooks may not call`;
    }
    if (METADATA_NAMES.has(host.replace(/\.$/, ''))) return 'names a cloud metadata service';
    return undefined;
  }

  /** The HTTP agent to send to `url` with (call refusal() first). */
  agentFor(url: URL): Agent {
    return this.hostAllowed(url) ? this.trusted : this.guarded;
  }

  async close(): Promise<void> {
    await Promise.all([this.trusted.close(), this.guarded.close()]);
  }

  private hostAllowed(url: URL): boolean {
    const host = bare(url.hostname);
    return this.hostRules.some(
      (rule) => rule.host === host && (rule.port === undefined || rule.port === effectivePort(url)),
    );
  }

  private cidrAllowed(address: string): boolean {
    const ip = ipaddr.process(address);
    return this.cidrRules.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits));
  }

  /** Every address must pass: a name that resolves to one public and one private address is refused. */
  private checkResolved(hostname: string, addresses: readonly dns.LookupAddress[]): Error | undefined {
    for (const { address } of addresses) {
      if (this.cidrAllowed(address)) continue;
      const range = refusedRange(address);
      if (range !== undefined) {
        return new RefusedDestination(`${hostname} resolves to ${address}, a ${range} address`);
      }
    }
    return undefined;
  }

  /** A dns.lookup for net.connect: resolves as usual, then refuses special-purpose addresses. */
  private readonly lookup = (
    hostname: string,
    options: dns.LookupOptions,
    callback: (error: Error | null, address: string | dns.LookupAddress[], family?: number) => void,
  ): void => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = this.checkResolved(hostname, addresses);
      if (refused) return callback(refused, []);
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new RefusedDestination(`${hostname} did not resolve`), []);
      return callback(null, first.address, first.family);
    });
  };
}
