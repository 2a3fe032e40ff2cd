// Shared by parity.mjs (Node) and browser.html (headless Chromium): load one variant and
// answer each question greedily with the chat template, exactly as pipeline.generate does.

/**
 * @param {object} transformers  the imported @huggingface/transformers module (env already set)
 * @param {string} modelId       folder name under env.localModelPath
 * @param {object} job           {dtype, system_prompt, questions, max_new_tokens, repetition_penalty}
 * @returns {Promise<object>}    {transformers, dtype, results: [{question, text, token_ids, new_tokens, latency_ms}]}
 */
export async function runJob(transformers, modelId, job) {
  const { AutoTokenizer, AutoModelForCausalLM, env } = transformers;
  const tokenizer = await AutoTokenizer.from_pretrained(modelId);
  const model = await AutoModelForCausalLM.from_pretrained(modelId, { dtype: job.dtype });
  const results = [];
  for (const question of job.questions) {
    const messages = [
      { role: 'system', content: job.system_prompt },
      { role: 'user', content: question },
    ];
    const inputs = tokenizer.apply_chat_template(messages, {
      add_generation_prompt: true,
      return_dict: true,
    });
    const promptLength = inputs.input_ids.dims.at(-1);
    const started = performance.now();
    const output = await model.generate({
      ...inputs,
      max_new_tokens: job.max_new_tokens,
      do_sample: false,
      repetition_penalty: job.repetition_penalty,
    });
    const latencyMs = performance.now() - started;
    const all = Array.from(output.tolist()[0], Number);
    const newIds = all.slice(promptLength);
    const text = tokenizer.decode(newIds, { skip_special_tokens: true }).trim();
    results.push({ question, text, token_ids: newIds, new_tokens: newIds.length, latency_ms: latencyMs });
  }
  await model.dispose();
  return { transformers: env.version, dtype: job.dtype, results };
}
