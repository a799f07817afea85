// A worker thread of the dataset builder (started by contacts-load.ts; under tsx, workers inherit its loader):
// builds the rows of each index range it is sent and answers with them shaped for the engine's bulk statement.
import { parentPort, workerData } from 'node:worker_threads';
import {
  forPostgres,
  forSqlite,
  type BatchReply,
  type BatchRequest,
  type WorkerInput,
} from './contacts-batch.ts';
import { createRowBuilder, type SeedRow } from './contacts-rows.ts';

const { plan } = workerData as WorkerInput;
const build = createRowBuilder(plan);
parentPort!.on('message', ({ batch, start, end }: BatchRequest) => {
  const rows: SeedRow[] = [];
  for (let i = start; i < end; i++) rows.push(build(i));
  const reply: BatchReply =
    plan.engine === 'sqlite'
      ? { batch, count: rows.length, sqlite: forSqlite(rows, start) }
      : { batch, count: rows.length, postgres: forPostgres(rows) };
  parentPort!.postMessage(reply);
});
