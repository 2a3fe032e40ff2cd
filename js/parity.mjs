// Greedy generation with transformers.js (onnxruntime-node) from a local model folder.
//
//   node js/parity.mjs JOB.json            (JOB.json: see README below; prints one JSON object)
//
// JOB.json = {"model_dir": "/abs/folder", "dtype": "fp32"|"fp16"|"q8"|"int8"|"uint8"|"q4"|"q4f16",
//             "system_prompt": "...", "questions": ["...", ...],
//             "max_new_tokens": 128, "repetition_penalty": 1.2}
// Output  = {"runtime": "node", "transformers": "3.x", "dtype": ..., "results":
//            [{"question", "text", "token_ids", "new_tokens", "latency_ms"}]}
//
// The model folder is the transformers.js layout (config.json, tokenizer files with the chat
// template at the root, onnx/model{,_fp16,_quantized,_int8,_uint8,_q4,_q4f16}.onnx). Remote models are disabled: nothing
// is fetched from the Hub. The shared logic lives in generate.mjs so the browser page runs the
// very same code.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import * as transformers from '@huggingface/transformers';

import { runJob } from './generate.mjs';

const jobFile = process.argv[2];
if (!jobFile) {
  console.error('usage: node js/parity.mjs JOB.json');
  process.exit(2);
}
const job = JSON.parse(readFileSync(jobFile, 'utf8'));
const modelDir = path.resolve(job.model_dir);

const { env } = transformers;
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(modelDir) + path.sep;
env.useBrowserCache = false;

try {
  const out = await runJob(transformers, path.basename(modelDir), job);
  process.stdout.write(JSON.stringify({ runtime: 'node', ...out }) + '\n');
} catch (err) {
  console.error(`transformers.js failed on ${modelDir} (dtype ${job.dtype}): ${err?.stack ?? err}`);
  process.exit(1);
}
