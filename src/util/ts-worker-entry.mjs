// Entry of worker threads whose code is TypeScript (see ts-worker.ts): registers tsx's loader in
// this thread, then re-exports the real module's default export (what piscina calls).
import { workerData } from 'node:worker_threads';

const { tsxApi, entry } = workerData;
if (tsxApi) (await import(tsxApi)).register();
const mod = await import(entry);
export default mod.default;
