// The raw baseline: a bare node:http server, in its own child process like Kith, doing the unavoidable part of
// each workload's work: GET serialises the cheap body; POST reads and parses the JSON body and serialises a
// token-shaped answer. Kith's figures are divided by these, measured in the same run, so a noisy machine cancels
// out of the ratios.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerParent, CHEAP_BODY, FAKE_TOKEN, kithLikeHeaders, type ReadyMessage } from './shared.ts';

function send(res: http.ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, kithLikeHeaders(body));
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    send(res, 200, CHEAP_BODY);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      send(res, 400, { error: 'bad json' });
      return;
    }
    send(res, 200, { token: FAKE_TOKEN, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  });
});
// Same keep-alive timeout as Fastify's default, so idle connections behave alike.
server.keepAliveTimeout = 72_000;

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const ready: ReadyMessage = { type: 'ready', url: `http://127.0.0.1:${port}` };
  process.send?.(ready);
});

answerParent(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
