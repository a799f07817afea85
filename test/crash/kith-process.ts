// A real Kith server in a child process, started the way `kith serve` starts (node --import tsx src/main.ts
// serve), so the crash test can kill it with SIGKILL — no shutdown hook, no flush, no finally — and start it
// again on the same port and database.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A port free right now, for the server to take again at every restart. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class KithProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** How many times the process was started. */
  starts = 0;

  constructor(
    /** KITH_* settings; the rest of the environment is this process's, minus its own KITH_* variables. */
    private readonly settings: Record<string, string>,
    /** Where the server's stdout and stderr go, appended across restarts. */
    readonly logFile: string,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.settings.KITH_PORT}`;
  }

  /** Starts the server and waits until /ready answers 200 (migrated, database reachable). */
  async start(timeoutMs = 60_000): Promise<void> {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KITH_')));
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n=== start ${++this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: ROOT,
      env: { ...inherited, ...this.settings },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `Kith exited (${child.exitCode ?? child.signalCode}) while starting; see ${this.logFile}`,
        );
      }
      const ready = await fetch(`${this.baseUrl}/ready`).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ready) return;
      await sleep(50);
    }
    throw new Error(`Kith was not ready within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** SIGKILL: the process ends wherever it is, mid-transaction or mid-delivery. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** A clean stop (SIGTERM), or SIGKILL if it has not ended within 15 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
