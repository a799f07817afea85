// The webhook receiver of the crash test: a plain HTTP server in the test process (it outlives every Kith
// process) that answers 200 at once and records each delivery by its webhook-id, after checking the signature
// with an independent Standard Webhooks implementation (the `standardwebhooks` package, not Kith's code).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Delivery {
  webhookId: string;
  /** The event as delivered (the change feed's shape). */
  event: { id: string; sequence: number; type: string; resourceId: string };
  /** Order of arrival over the whole run, from 0. */
  index: number;
}

export interface Receiver {
  port: number;
  url: string;
  deliveries: Delivery[];
  /** Distinct webhook-ids received. */
  received: Set<string>;
  /** Deliveries whose signature did not verify or whose body was not the event named by webhook-id. */
  rejected: string[];
  /** The endpoint's signing secret, once Kith has shown it. */
  setSecret(secret: string): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let verifier: Webhook | undefined;
  const deliveries: Delivery[] = [];
  const received = new Set<string>();
  const rejected: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const webhookId = String(req.headers['webhook-id']);
      try {
        if (!verifier) throw new Error('no secret yet');
        const event = verifier.verify(body, req.headers as Record<string, string>) as Delivery['event'];
        if (event.id !== webhookId) throw new Error(`body is event ${event.id}`);
        deliveries.push({ webhookId, event, index: deliveries.length });
        received.add(webhookId);
      } catch (error) {
        rejected.push(`${webhookId}: ${(error as Error).message}`);
      }
      // Always 200: the test is about Kith's crashes, not about a failing receiver.
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    received,
    rejected,
    setSecret: (secret) => (verifier = new Webhook(secret)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
