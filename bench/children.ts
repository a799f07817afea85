// Starting and stopping the server children. Each runs under `node --import tsx` with an IPC channel: it sends
// `ready` (its URL and fixture) once it listens and exits on `stop`. Its stdout/stderr go to a log file, not
// through the parent, so writing logs never costs the load generator CPU.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isReady, isReply, type ControlMessage, type ReadyMessage, type ReplyMessage } from './shared.ts';

export interface ServerChild {
  ready: ReadyMessage;
  /** Sends a control message; the reply carries the child's CPU time so far (differences give a run's cost). */
  ask(request: Exclude<ControlMessage, { type: 'stop' }>): Promise<ReplyMessage>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** File name under bench/, e.g. `kith-server.ts`. */
  script: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  startTimeoutMs?: number;
}

export async function startServer(options: StartOptions): Promise<ServerChild> {
  const log = fs.openSync(options.logFile, 'a');
  const child = fork(fileURLToPath(new URL(options.script, import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: options.env,
    stdio: ['ignore', log, log, 'ipc'],
  });
  fs.closeSync(log);
  try {
    const ready = await waitForReady(child, options.startTimeoutMs ?? 60_000, options.logFile);
    return { ready, ask: (request) => ask(child, request), stop: () => stopChild(child) };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

function waitForReady(child: ChildProcess, timeoutMs: number, logFile: string): Promise<ReadyMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms`)), timeoutMs);
    child.on('message', (message) => {
      if (!isReady(message)) return;
      clearTimeout(timer);
      resolve(message);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} before it was ready; see ${logFile}`));
    });
  });
}

/** One request at a time: the parent awaits each reply before sending the next message. */
function ask(child: ChildProcess, request: ControlMessage): Promise<ReplyMessage> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isReply(message)) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.send(request);
  });
}

/** Asks the child to exit cleanly; kills it if it has not within 10 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    const request: ControlMessage = { type: 'stop' };
    child.send(request);
  });
}
