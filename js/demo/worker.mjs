// Web Worker of the chat page (js/demo/index.html): loads one ONNX variant with transformers.js
// and streams greedy answers back token by token (TextStreamer), so the page never blocks.
//
// Messages in:  {type: "load", model, dtype, device}   {type: "ask", question, system_prompt,
//                max_new_tokens, repetition_penalty}
// Messages out: {type: "status", text}  {type: "loaded", device, dtype, seconds}
//               {type: "token", text}   {type: "done", text, token_ids, new_tokens,
//                first_token_ms, total_ms, tokens_per_s}   {type: "error", text}
import * as transformers from '/transformers/transformers.min.js';

const { AutoTokenizer, AutoModelForCausalLM, TextStreamer, env } = transformers;
env.allowRemoteModels = false;       // everything comes from this page's own server
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.useBrowserCache = false;
env.backends.onnx.wasm.wasmPaths = '/transformers/';

let tokenizer = null;
let model = null;

async function load({ model: name, dtype, device }) {
  const started = performance.now();
  if (model) await model.dispose();
  postMessage({ type: 'status', text: `loading ${name} (${dtype}) on ${device}` });
  tokenizer = await AutoTokenizer.from_pretrained(name);
  model = await AutoModelForCausalLM.from_pretrained(name, { dtype, device });
  postMessage({ type: 'loaded', device, dtype, seconds: (performance.now() - started) / 1000 });
}

async function ask({ question, system_prompt, max_new_tokens, repetition_penalty }) {
  const messages = [{ role: 'system', content: system_prompt }, { role: 'user', content: question }];
  const inputs = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, return_dict: true });
  const promptLength = inputs.input_ids.dims.at(-1);
  const started = performance.now();
  let firstTokenMs = null;
  const streamer = new TextStreamer(tokenizer, {
    skip_prompt: true,
    skip_special_tokens: true,
    token_callback_function: () => {
      if (firstTokenMs === null) firstTokenMs = performance.now() - started;
    },
    callback_function: (text) => {
      if (text) postMessage({ type: 'token', text });
    },
  });
  const output = await model.generate({
    ...inputs, max_new_tokens, do_sample: false, repetition_penalty, streamer,
  });
  const totalMs = performance.now() - started;
  const ids = Array.from(output.tolist()[0], Number).slice(promptLength);
  const text = tokenizer.decode(ids, { skip_special_tokens: true }).trim();
  postMessage({
    type: 'done', text, token_ids: ids, new_tokens: ids.length,
    first_token_ms: firstTokenMs ?? totalMs, total_ms: totalMs,
    tokens_per_s: ids.length / (totalMs / 1000),
  });
}

onmessage = async (event) => {
  try {
    if (event.data.type === 'load') await load(event.data);
    else if (event.data.type === 'ask') await ask(event.data);
  } catch (err) {
    postMessage({ type: 'error', text: String(err?.stack ?? err) });
  }
};
