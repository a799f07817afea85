// The webhook receiver of the webhooks bench, in its own process so that neither the load generator nor Kith
// pays for it on their event loops: answers every POST 200 with an empty body at once and counts them.
// GET /count returns how many deliveries arrived so far.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerParent, type ReadyMessage } from './shared.ts';

let received = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received }));
    return;
  }
  // The body is read (and dropped) before answering, as a real receiver would read it to verify the signature.
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(200).end();
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const ready: ReadyMessage = { type: 'ready', url: `http://127.0.0.1:${port}` };
process.send?.(ready);

answerParent(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
