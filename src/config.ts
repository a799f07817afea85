// The one place that reads process.env. Every setting is declared once here (README lists them all; a test checks),
// parsed once, and a bad value stops start-up with a message that names the variable.
import path from 'node:path';
import { parseAllowRule } from './modules/webhooks/webhooks.ssrf.ts';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  jwtSecret: string | undefined;
  tokenTtlSeconds: number;
  tokenRequestsPerClient: number;
  tokenRequestWindowSeconds: number;
  tokenBlockSeconds: number;
  tokenFailuresPerAddress: number;
  clientCacheSeconds: number;
  bodyLimitBytes: number;
  corsOrigins: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  noDemo: boolean;
  trustProxy: boolean;
  shutdownTimeoutMs: number;
  eventRetentionDays: number;
  webhookAllowedHosts: string[];
  webhookPollMs: number;
  wsHeartbeatSeconds: number;
  wsAuthTimeoutSeconds: number;
  wsMaxConnectionsPerClient: number;
  wsMaxSubscriptions: number;
  wsMaxBufferedBytes: number;
  publicIntakeInstance: { tenant: string; instance: string } | undefined;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

interface Setting<T> {
  variable: string;
  description: string;
  fallback: string;
  parse: (raw: string, variable: string) => T;
}

function fail(variable: string, expected: string, raw: string): never {
  throw new ConfigError(`${variable} must be ${expected} (got ${JSON.stringify(raw)})`);
}

function integer(min: number, max: number) {
  return (raw: string, variable: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      fail(variable, `a whole number from ${min} to ${max}`, raw);
    }
    return n;
  };
}

function flag(raw: string, variable: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return fail(variable, 'a boolean (1/0, true/false)', raw);
}

function text(raw: string): string {
  return raw;
}

function optionalUrl(protocols: string[]) {
  return (raw: string, variable: string): string | undefined => {
    if (raw.trim() === '') return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return fail(variable, `a URL (${protocols.join(', ')})`, raw);
    }
    if (!protocols.includes(url.protocol)) fail(variable, `a URL (${protocols.join(', ')})`, raw);
    return raw;
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Every setting Kith reads, with the description the README's configuration table shows. */
export const SETTINGS = {
  host: { variable: 'KITH_HOST', description: 'Address to listen on', fallback: '127.0.0.1', parse: text },
  port: {
    variable: 'KITH_PORT',
    description: 'Port to listen on',
    fallback: '8080',
    parse: integer(0, 65535),
  },
  dataDir: {
    variable: 'KITH_DATA_DIR',
    description: 'Directory of the embedded SQLite database (kith.db)',
    fallback: './data',
    parse: (raw: string) => path.resolve(raw),
  },
  databaseUrl: {
    variable: 'KITH_DATABASE_URL',
    description: 'PostgreSQL URL (postgres://…); when set, PostgreSQL is used instead of SQLite',
    fallback: '',
    parse: optionalUrl(['postgres:', 'postgresql:']),
  },
  databasePoolSize: {
    variable: 'KITH_DATABASE_POOL_SIZE',
    description: 'PostgreSQL connection pool size',
    fallback: '20',
    parse: integer(1, 1000),
  },
  redisUrl: {
    variable: 'KITH_REDIS_URL',
    description: 'Redis URL (redis://…); when set, rate limits are shared by every node',
    fallback: '',
    parse: optionalUrl(['redis:', 'rediss:']),
  },
  jwtSecret: {
    variable: 'KITH_JWT_SECRET',
    description: 'Token signing secret (≥ 32 characters); generated and stored in the database when unset',
    fallback: '',
    parse: (raw: string, variable: string) => {
      if (raw === '') return undefined;
      if (raw.length < 32) fail(variable, 'at least 32 characters long', '…');
      return raw;
    },
  },
  tokenTtlSeconds: {
    variable: 'KITH_TOKEN_TTL_SECONDS',
    description: 'Lifetime of a bearer token',
    fallback: '3600',
    parse: integer(60, 86_400),
  },
  tokenRequestsPerClient: {
    variable: 'KITH_TOKEN_REQUESTS_PER_CLIENT',
    description: 'Token requests one API client may make per window before it is blocked',
    fallback: '100',
    parse: integer(1, 1_000_000),
  },
  tokenRequestWindowSeconds: {
    variable: 'KITH_TOKEN_WINDOW_SECONDS',
    description: 'Window of the token request limit',
    fallback: '300',
    parse: integer(1, 86_400),
  },
  tokenBlockSeconds: {
    variable: 'KITH_TOKEN_BLOCK_SECONDS',
    description: 'How long token issuance stays blocked once a limit is exceeded',
    fallback: '300',
    parse: integer(1, 86_400),
  },
  tokenFailuresPerAddress: {
    variable: 'KITH_TOKEN_FAILURES_PER_ADDRESS',
    description: 'Failed token requests one remote address may make per window before it is blocked',
    fallback: '30',
    parse: integer(1, 1_000_000),
  },
  clientCacheSeconds: {
    variable: 'KITH_CLIENT_CACHE_SECONDS',
    description:
      'How long a node trusts its cached copy of an API client (disable/rotate take effect after this)',
    fallback: '2',
    parse: integer(0, 5),
  },
  bodyLimitBytes: {
    variable: 'KITH_BODY_LIMIT_BYTES',
    description: 'Largest accepted request body',
    fallback: String(1024 * 1024),
    parse: integer(1024, 100 * 1024 * 1024),
  },
  corsOrigins: {
    variable: 'KITH_CORS_ORIGINS',
    description: 'Comma-separated origins allowed by CORS (empty: CORS off)',
    fallback: '',
    parse: (raw: string) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  },
  logLevel: {
    variable: 'KITH_LOG_LEVEL',
    description: `Log level (${LOG_LEVELS.join(', ')})`,
    fallback: 'info',
    parse: (raw: string, variable: string) => {
      const level = LOG_LEVELS.find((l) => l === raw.trim());
      return level ?? fail(variable, `one of ${LOG_LEVELS.join(', ')}`, raw);
    },
  },
  noDemo: {
    variable: 'KITH_NO_DEMO',
    description: 'Set to 1 to skip creating the demo tenant on first start',
    fallback: '0',
    parse: flag,
  },
  trustProxy: {
    variable: 'KITH_TRUST_PROXY',
    description: 'Trust X-Forwarded-For (set when Kith runs behind a reverse proxy)',
    fallback: '0',
    parse: flag,
  },
  shutdownTimeoutMs: {
    variable: 'KITH_SHUTDOWN_TIMEOUT_MS',
    description: 'How long in-flight requests may take to finish on SIGTERM/SIGINT',
    fallback: '10000',
    parse: integer(0, 600_000),
  },
  eventRetentionDays: {
    variable: 'KITH_EVENT_RETENTION_DAYS',
    description: 'How long events stay readable in the change feed',
    fallback: '30',
    parse: integer(1, 3650),
  },
  webhookAllowedHosts: {
    variable: 'KITH_WEBHOOK_ALLOWED_HOSTS',
    description:
      'Comma-separated host, host:port or CIDR webhooks may call despite the SSRF guard (dev, tests)',
    fallback: '',
    parse: (raw: string, variable: string) => {
      const entries = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const entry of entries) {
        try {
          parseAllowRule(entry);
        } catch (error) {
          fail(variable, `hosts, host:port or CIDR ranges (${(error as Error).message})`, raw);
        }
      }
      return entries;
    },
  },
  webhookPollMs: {
    variable: 'KITH_WEBHOOK_POLL_MS',
    description: "How often a node looks for due webhook retries and other nodes' events",
    fallback: '1000',
    parse: integer(50, 60_000),
  },
  wsHeartbeatSeconds: {
    variable: 'KITH_WS_HEARTBEAT_SECONDS',
    description:
      'Interval of WebSocket heartbeats (ping and JSON heartbeat); a peer silent for two is dropped',
    fallback: '30',
    parse: integer(1, 3600),
  },
  wsAuthTimeoutSeconds: {
    variable: 'KITH_WS_AUTH_TIMEOUT_SECONDS',
    description: 'How long a WebSocket opened without a token has to send its auth message',
    fallback: '5',
    parse: integer(1, 60),
  },
  wsMaxConnectionsPerClient: {
    variable: 'KITH_WS_CONNECTIONS_PER_CLIENT',
    description: 'Open WebSockets one API client may hold on one node',
    fallback: '50',
    parse: integer(1, 100_000),
  },
  wsMaxSubscriptions: {
    variable: 'KITH_WS_MAX_SUBSCRIPTIONS',
    description: 'Subscriptions one WebSocket may hold',
    fallback: '20',
    parse: integer(1, 1000),
  },
  wsMaxBufferedBytes: {
    variable: 'KITH_WS_MAX_BUFFERED_BYTES',
    description: 'Unsent bytes a WebSocket may queue before it is closed as a slow consumer',
    fallback: String(1024 * 1024),
    parse: integer(16 * 1024, 256 * 1024 * 1024),
  },
  publicIntakeInstance: {
    variable: 'KITH_PUBLIC_INTAKE_INSTANCE',
    description: 'Instance (tenant/instance) whose public intake the bare /contacts routes serve',
    fallback: '',
    parse: (raw: string, variable: string) => {
      if (raw.trim() === '') return undefined;
      const match = /^([a-z0-9][a-z0-9-]{1,62})\/([a-z0-9][a-z0-9-]{1,62})$/.exec(raw.trim());
      if (!match) return fail(variable, 'tenant/instance (two names)', raw);
      return { tenant: match[1]!, instance: match[2]! };
    },
  },
} satisfies { [K in keyof Config]: Setting<Config[K]> };

/** Parses the environment into a Config; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const entries = Object.entries(SETTINGS).map(([key, setting]) => {
    const s = setting as Setting<unknown>;
    return [key, s.parse(env[s.variable] ?? s.fallback, s.variable)];
  });
  return { ...(Object.fromEntries(entries) as unknown as Config), ...overrides };
}
