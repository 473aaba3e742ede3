/** Worker thread of trainForest: receives tree indices, replies with the trained flat tree. */
import { parentPort, workerData } from 'node:worker_threads';
import { buildTree, type WorkerInit, type WorkerReply } from './forest';

const init = workerData as WorkerInit;
const port = parentPort;
if (port) {
  port.on('message', (tree: number) => {
    try {
      const t = buildTree(init.data, init.job, tree);
      const reply: WorkerReply = { tree, feature: t.feature, right: t.right, value: t.value };
      port.postMessage(reply, [t.feature.buffer as ArrayBuffer, t.right.buffer as ArrayBuffer, t.value.buffer as ArrayBuffer]);
    } catch (e) {
      const reply: WorkerReply = { error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
      port.postMessage(reply);
    }
  });
}
