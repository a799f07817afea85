// A V8 CPU profile of one measurement, taken inside the server child through the inspector, so that start-up
// (module loading under tsx) and the warm-up stay out of it. Open the file in Chrome DevTools or summarise it
// with `npm run bench:profile -- FILE`.
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';

const session = new Session();
session.connect();
await session.post('Profiler.enable');
// 250 µs rather than the default 1 ms: a cheap request takes ~100 µs, so a finer grain says more per request.
await session.post('Profiler.setSamplingInterval', { interval: 250 });

export async function start(): Promise<void> {
  await session.post('Profiler.start');
}

export async function stop(file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  fs.writeFileSync(file, JSON.stringify(profile));
}
