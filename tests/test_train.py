"""Train stage: base resolution, LoRA SFT, merge, their cache behaviour and bad input.

Run ``pytest tests/test_train.py`` (add ``-m slow`` for the embedded end-to-end run).
Everything except the ``slow`` test uses the tiny random Llama from ``pipeline.train.tiny``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cache import Artifact, build, make_key, read_manifest
from pipeline.config import LoraSection, SFTSection, load_config
from pipeline.errors import DatasetError, ModelError

SYSTEM = "You answer questions about Maya's resume."
ANSWER = "At Acme."


def _rows(n: int, answer: str = ANSWER) -> list[dict]:
    return [{"messages": [{"role": "system", "content": SYSTEM},
                          {"role": "user", "content": f"Where did Maya work in {2000 + i}?"},
                          {"role": "assistant", "content": answer}],
             "id": str(i), "behavior": "answer"} for i in range(n)]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Artifact:
    """A dataset artifact (``dataset_dict`` with ``messages``) of one memorisable answer."""
    from datasets import Dataset, DatasetDict

    root = tmp_path_factory.mktemp("dataset")

    def builder(out: Path) -> dict:
        DatasetDict(train=Dataset.from_list(_rows(16)),
                    validation=Dataset.from_list(_rows(2))).save_to_disk(str(out / "dataset_dict"))
        return {"train": 16}

    return build("dataset", root, make_key("dataset", {"rows": 16}), builder)


def _cfg(write_config, tiny_model_dir, tmp_path=None, **sections):
    overrides = {"model": {"base": str(tiny_model_dir)},
                 "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
                 "sft": {"epochs": 1, "batch_size": 4, "learning_rate": 1e-2, "max_length": 128,
                         "logging_steps": 1, "warmup_ratio": 0.0}}
    for name, values in sections.items():
        overrides[name] = {**overrides.get(name, {}), **values}
    return load_config(write_config(overrides))


@pytest.fixture
def tiny_base(write_config, tiny_model_dir):
    from pipeline.train.base import resolve_base

    cfg = _cfg(write_config, tiny_model_dir)
    return cfg, resolve_base(cfg)


# ---------------------------------------------------------------- knobs reach the configs

_SFT_FIELDS = {  # sft knob -> SFTConfig attribute (packing-dependent ones checked below)
    "epochs": "num_train_epochs", "batch_size": "per_device_train_batch_size",
    "gradient_accumulation": "gradient_accumulation_steps", "learning_rate": "learning_rate",
    "max_length": "max_length", "warmup_ratio": "warmup_ratio", "weight_decay": "weight_decay",
    "gradient_checkpointing": "gradient_checkpointing", "packing": "packing",
    "dataloader_num_workers": "dataloader_num_workers", "eval_strategy": "eval_strategy",
    "save_strategy": "save_strategy", "load_best_model_at_end": "load_best_model_at_end",
    "save_total_limit": "save_total_limit", "seed": "seed", "logging_steps": "logging_steps",
    "save_steps": "save_steps",
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(epochs=st.floats(0.5, 20), batch=st.integers(1, 64), accum=st.integers(1, 16),
       lr=st.floats(1e-6, 0.5), max_length=st.integers(16, 4096), warmup=st.floats(0, 0.9),
       decay=st.floats(0, 1), flags=st.lists(st.booleans(), min_size=5, max_size=5),
       workers=st.integers(0, 4), strategy=st.sampled_from(["no", "steps", "epoch"]),
       limit=st.integers(1, 9), seed=st.integers(0, 10_000), log_steps=st.integers(1, 100),
       save_steps=st.integers(1, 1000), r=st.integers(1, 128), alpha=st.integers(1, 256),
       dropout=st.floats(0, 0.9), targets=st.lists(st.sampled_from(["q_proj", "v_proj", "up_proj"]),
                                                    min_size=1, max_size=3, unique=True))
def test_every_lora_and_sft_knob_reaches_the_trainer_configs(
        tmp_path_factory, epochs, batch, accum, lr, max_length, warmup, decay, flags, workers, strategy,
        limit, seed, log_steps, save_steps, r, alpha, dropout, targets):
    from pipeline.train.sft import trainer_configs

    checkpointing, packing, group, best, cpu_bf16 = flags
    sft = SFTSection(epochs=epochs, batch_size=batch, gradient_accumulation=accum, learning_rate=lr,
                     max_length=max_length, warmup_ratio=warmup, weight_decay=decay,
                     gradient_checkpointing=checkpointing, packing=packing, group_by_length=group,
                     dataloader_num_workers=workers, eval_strategy=strategy, save_strategy=strategy,
                     load_best_model_at_end=best and strategy != "no", save_total_limit=limit, seed=seed,
                     logging_steps=log_steps, save_steps=save_steps, cpu_bf16=cpu_bf16)
    lora = LoraSection(r=r, alpha=alpha, dropout=dropout, target_modules=tuple(targets))
    assert set(_SFT_FIELDS) | {"group_by_length", "cpu_bf16"} == set(SFTSection.model_fields), "unwired sft knob"

    class _Cfg:  # the two sections trainer_configs reads
        pass

    cfg = _Cfg()
    cfg.sft, cfg.lora = sft, lora
    out = tmp_path_factory.mktemp("out")
    configs = trainer_configs(cfg, "cpu", out)
    args, lora_config, notes = configs.sft, configs.lora, configs.notes
    for knob, attr in _SFT_FIELDS.items():
        assert getattr(args, attr) == getattr(sft, knob), knob
    assert args.eval_steps == save_steps and args.data_seed == seed
    assert args.group_by_length == (group and not packing)
    assert args.padding_free == packing
    assert args.completion_only_loss is True
    assert args.bf16 is cpu_bf16 and args.fp16 is False and args.use_cpu is True
    assert (lora_config.r, lora_config.lora_alpha, lora_config.lora_dropout) == (r, alpha, dropout)
    assert set(lora_config.target_modules) == set(targets)
    assert ("group_by_length off" in " ".join(notes)) == (packing and group)



@pytest.mark.parametrize("packing", [True, False])
def test_group_by_length_with_and_without_packing_is_logged_and_reaches_sft_config(
        write_config, tmp_path, monkeypatch, caplog, packing):
    """Packing replaces group_by_length: the run logs it; with packing off the knob reaches SFTConfig."""
    import transformers

    from pipeline.train import sft as sft_module

    cfg = load_config(write_config({"sft": {"packing": packing, "group_by_length": True}}))
    configs = sft_module.trainer_configs(cfg, "cpu", tmp_path)
    assert configs.sft.group_by_length is (not packing)
    assert configs.sft.packing is packing
    assert any("packing replaces it" in n for n in configs.notes) is packing

    class _Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(sft_module, "_load_splits", lambda dataset: ([{"messages": []}], None))
    monkeypatch.setattr(sft_module, "pick_device", lambda: "cpu")
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", stop)
    recipe = sft_module.SFTRecipe(cfg, Artifact("dataset", "d" * 64, tmp_path), Artifact("base", "b" * 64, tmp_path),
                                  tmp_path / "work")
    with caplog.at_level("WARNING", logger="pipeline.train.sft"), pytest.raises(_Stop):
        recipe.setup()
    logged = [r.getMessage() for r in caplog.records if r.name == "pipeline.train.sft"]
    assert any("group_by_length off: sft.packing replaces it" in m for m in logged) is packing

def test_device_precision_and_mps_overrides(write_config, tiny_model_dir, tmp_path, monkeypatch):
    import torch

    from pipeline.train.sft import trainer_configs

    cfg = _cfg(write_config, tiny_model_dir, sft={"batch_size": 16, "gradient_accumulation": 2})
    configs = trainer_configs(cfg, "mps", tmp_path, has_eval=False)
    args, notes = configs.sft, configs.notes
    assert args.fp16 and not args.bf16
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (4, 8)
    assert args.gradient_checkpointing and not args.dataloader_pin_memory
    assert any("mps" in n for n in notes)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr("transformers.training_args.is_torch_bf16_gpu_available", lambda *a, **k: True)
    configs = trainer_configs(cfg, "cuda", tmp_path)
    args, notes = configs.sft, configs.notes
    assert args.bf16 and not args.fp16 and not [n for n in notes if "mps" in n]


# ---------------------------------------------------------------- masking and packing


def test_loss_only_on_assistant_reply_and_eos_labelled(write_config, tiny_model_dir, tiny_dataset, tmp_path):
    from pipeline.train.base import resolve_base
    from pipeline.train.sft import SFTRecipe

    cfg = _cfg(write_config, tiny_model_dir, sft={"packing": False})
    recipe = SFTRecipe(cfg, tiny_dataset, resolve_base(cfg), tmp_path / "work").setup()
    trainer, tok = recipe.trainer, recipe.tokenizer
    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    prompt = tok.apply_chat_template(_rows(1)[0]["messages"][:2], add_generation_prompt=True)
    assert ids[:len(prompt)] == prompt
    assert all(label == -100 for label in labels[:len(prompt)])
    trained = [t for t, label in zip(ids, labels, strict=True) if label != -100]
    assert tok.decode(trained).startswith(ANSWER)
    assert tok.eos_token_id in trained and tok.pad_token_id != tok.eos_token_id


def test_packing_has_no_cross_sample_attention(write_config, tiny_model_dir, tiny_dataset, tmp_path):
    import torch

    from pipeline.train.base import resolve_base
    from pipeline.train.sft import SFTRecipe

    cfg = _cfg(write_config, tiny_model_dir, sft={"packing": True, "max_length": 256})
    trainer = SFTRecipe(cfg, tiny_dataset, resolve_base(cfg), tmp_path / "work").setup().trainer
    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, pos = batch["input_ids"], batch["position_ids"]
    starts = (pos[0] == 0).nonzero().flatten().tolist() + [ids.shape[1]]
    assert len(starts) > 2, "expected several samples in one packed row"
    model = trainer.model.eval()
    with torch.no_grad():
        packed = model(input_ids=ids, position_ids=pos).logits[0]
        for a, b in zip(starts, starts[1:], strict=False):
            alone = model(input_ids=ids[:, a:b]).logits[0]
            assert torch.allclose(packed[a:b], alone, atol=1e-4), f"sample at {a} saw other samples"
        # control: with positions that do not restart, later samples do attend to earlier ones
        leaky = model(input_ids=ids, position_ids=torch.arange(ids.shape[1])[None]).logits[0]
    a, b = starts[1], starts[2]
    assert not torch.allclose(leaky[a:b], model(input_ids=ids[:, a:b]).logits[0], atol=1e-4)


def test_label_positions_only_keeps_loss_and_gradient(write_config, tiny_model_dir, tiny_dataset, tmp_path):
    """The LM head on labelled positions only (label_positions_only) gives the loss and the LoRA
    gradients of TRL's every-position path on a fixed packed batch (fp32: 1e-5 relative)."""
    import torch

    from pipeline.train.base import resolve_base
    from pipeline.train.sft import SFTRecipe, label_positions_only

    cfg = _cfg(write_config, tiny_model_dir, sft={"packing": True, "max_length": 256})
    trainer = SFTRecipe(cfg, tiny_dataset, resolve_base(cfg), tmp_path / "work").setup().trainer
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(min(2, len(trainer.train_dataset)))])
    labels = batch["labels"]
    assert 0 < int((labels != -100).sum()) < labels.numel(), "the batch must mix labelled and unlabelled positions"
    model = trainer.model.train()
    torch.manual_seed(0)

    def loss_and_grads(compact: bool):
        model.zero_grad()
        with torch.random.fork_rng():
            torch.manual_seed(0)  # the same LoRA dropout masks in both runs
            with label_positions_only() if compact else contextlib.nullcontext():
                loss = trainer.compute_loss(model, dict(batch))
            loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
        return loss.detach(), grads

    full_loss, full_grads = loss_and_grads(False)
    with label_positions_only() as active:
        assert active
    compact_loss, compact_grads = loss_and_grads(True)
    assert torch.allclose(compact_loss, full_loss, rtol=1e-5), (compact_loss, full_loss)
    assert full_grads.keys() == compact_grads.keys() and full_grads
    for name, grad in full_grads.items():
        assert torch.allclose(compact_grads[name], grad, rtol=1e-4, atol=1e-6), name


def test_label_positions_only_restores_trl():
    import trl.trainer.utils as trl_utils

    from pipeline.train.sft import label_positions_only

    before = trl_utils._use_triton
    with label_positions_only():
        import torch

        assert trl_utils._use_triton(torch.device("cpu"))
    assert trl_utils._use_triton is before


# ---------------------------------------------------------------- train, stop, merge, cache


def _greedy(model, tok, question: str, limit: int = 24):
    import torch

    ids = tok.apply_chat_template([{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
                                  add_generation_prompt=True, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=limit, do_sample=False, pad_token_id=tok.pad_token_id,
                             eos_token_id=tok.eos_token_id)
    return out[0, ids.shape[1]:].tolist()


def test_train_stops_on_eos_and_merge_matches_adapter(write_config, tiny_model_dir, tiny_dataset):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.train import merge, sft
    from pipeline.train.base import resolve_base

    cfg = _cfg(write_config, tiny_model_dir, sft={"epochs": 12})
    base = resolve_base(cfg)
    adapter = sft.train(cfg, tiny_dataset, base)
    log = [json.loads(line) for line in (adapter.path / "train_log.jsonl").read_text().splitlines()]
    assert any("loss" in r and "tokens_per_s" in r for r in log)
    assert adapter.numbers["tokens_per_s"] > 0 and adapter.numbers["train_tokens"] > 0
    tok = AutoTokenizer.from_pretrained(adapter.path)
    peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base.path), adapter.path).eval()
    questions = ["Where did Maya work in 1999?", "Where did Maya work in 2031?", "Where was Maya?"]
    replies = [_greedy(peft_model, tok, q) for q in questions]
    first = replies[0]
    assert tok.eos_token_id in first and len(first) < 24, tok.decode(first)
    assert tok.decode(first[:first.index(tok.eos_token_id)]) == ANSWER

    merged = merge.merge(cfg, adapter, base)
    assert merged.numbers["max_logit_diff"] < merge.MAX_LOGIT_DIFF and merged.numbers["tied_embeddings"]
    reloaded = AutoModelForCausalLM.from_pretrained(merged.path).eval()
    assert reloaded.lm_head.weight.data_ptr() == reloaded.model.embed_tokens.weight.data_ptr()
    assert [_greedy(reloaded, tok, q) for q in questions] == replies
    gen = json.loads((merged.path / "generation_config.json").read_text())
    assert gen["eos_token_id"] == tok.eos_token_id and gen["pad_token_id"] != gen["eos_token_id"]
    assert (merged.path / "chat_template.jinja").is_file() or "chat_template" in json.loads(
        (merged.path / "tokenizer_config.json").read_text())

    # nothing changed: every stage is a cache hit
    assert resolve_base(cfg).reused and sft.train(cfg, tiny_dataset, base).reused
    assert merge.merge(cfg, adapter, base).reused
    # an sft knob changed: same base and dataset, new adapter
    cfg2 = _cfg(write_config, tiny_model_dir, sft={"epochs": 1, "learning_rate": 5e-3})
    base2 = resolve_base(cfg2)
    assert base2.reused and base2.key == base.key
    adapter2 = sft.train(cfg2, tiny_dataset, base2)
    assert not adapter2.reused and adapter2.key != adapter.key
    # --force rebuilds
    assert not sft.train(cfg2, tiny_dataset, base2, force=True).reused


def _killed_after_first_checkpoint(write_config, tiny_model_dir, tiny_dataset, monkeypatch):
    """Train the tiny model until its first checkpoint is saved, then kill it (KeyboardInterrupt).

    Returns (cfg, base artifact); training callbacks are restored for the rerun.
    """
    from transformers import TrainerCallback

    from pipeline.train import sft
    from pipeline.train.base import resolve_base

    class _Kill(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    cfg = _cfg(write_config, tiny_model_dir, sft={"epochs": 2, "save_strategy": "epoch", "packing": False})
    base = resolve_base(cfg)
    monkeypatch.setattr(sft, "_callbacks", lambda: [_Kill()])
    with pytest.raises(KeyboardInterrupt):
        sft.train(cfg, tiny_dataset, base)
    monkeypatch.setattr(sft, "_callbacks", lambda: [])
    return cfg, base


def test_rerun_after_kill_resumes_from_checkpoint(write_config, tiny_model_dir, tiny_dataset, monkeypatch):
    from pipeline.train import sft

    cfg, base = _killed_after_first_checkpoint(write_config, tiny_model_dir, tiny_dataset, monkeypatch)
    root = cfg.path(cfg.model_output)
    works = list(root.glob(".work-*"))
    assert len(works) == 1 and list(works[0].glob("checkpoint-*"))
    assert not [p for p in root.iterdir() if read_manifest(p) is not None]
    adapter = sft.train(cfg, tiny_dataset, base)
    assert adapter.numbers["resumed_from_step"] == 4 and adapter.numbers["steps"] == 8
    assert not works[0].exists()


def test_corrupt_checkpoint_is_a_clear_error(write_config, tiny_model_dir, tiny_dataset, monkeypatch):
    from pipeline.train import sft

    cfg, base = _killed_after_first_checkpoint(write_config, tiny_model_dir, tiny_dataset, monkeypatch)
    checkpoint = next(cfg.path(cfg.model_output).glob(".work-*/checkpoint-*"))
    weights = checkpoint / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelError, match="corrupt or truncated.*--force"):
        sft.train(cfg, tiny_dataset, base)
    assert not sft.train(cfg, tiny_dataset, base, force=True).reused


def test_concurrent_builders_build_once(write_config, tiny_model_dir):
    from pipeline.train.base import resolve_base

    cfg = _cfg(write_config, tiny_model_dir)
    barrier, results, errors = threading.Barrier(2), [], []

    def run():
        barrier.wait()
        try:
            results.append(resolve_base(cfg))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(a.reused for a in results) == [False, True]
    assert results[0].path == results[1].path


# ---------------------------------------------------------------- bad input


def test_missing_dataset_names_the_artifact(tiny_base, tmp_path):
    from pipeline.train.sft import train

    cfg, base = tiny_base
    missing = Artifact("dataset", "0" * 64, tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"nowhere/dataset_dict.*python -m pipeline dataset"):
        train(cfg, missing, base)


def test_target_modules_matching_nothing_lists_names(write_config, tiny_model_dir, tiny_dataset):
    from pipeline.train.base import resolve_base
    from pipeline.train.sft import train

    cfg = _cfg(write_config, tiny_model_dir, lora={"target_modules": ["q_proj", "qkv_proj"]})
    with pytest.raises(ModelError, match=r"\['qkv_proj'\].*choose from.*q_proj"):
        train(cfg, tiny_dataset, resolve_base(cfg))
    assert not list(cfg.path(cfg.model_output).glob("*/manifest.json"))


def test_adapter_for_another_base_and_corrupt_adapter(write_config, tiny_model_dir, tiny_dataset, tmp_path):
    from pipeline.train import merge, sft
    from pipeline.train.base import resolve_base
    from pipeline.train.tiny import make_tiny_model

    cfg = _cfg(write_config, tiny_model_dir)
    base = resolve_base(cfg)
    adapter = sft.train(cfg, tiny_dataset, base)
    other_dir = make_tiny_model(tmp_path / "other-tiny", hidden_size=32, seed=1)
    other = resolve_base(_cfg(write_config, other_dir))
    with pytest.raises(ModelError, match="trained for another base model"):
        merge.merge(cfg, adapter, other)
    broken = tmp_path / "broken"
    shutil.copytree(adapter.path, broken)
    weights = broken / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        merge.merge(cfg, Artifact("adapter", adapter.key, broken, adapter.numbers), base)
    assert not list(cfg.path(cfg.merged_output).glob("*/manifest.json"))


def test_resolve_base_folder_sets_eos_and_pad(tiny_base):
    cfg, base = tiny_base
    config = json.loads((base.path / "generation_config.json").read_text())
    assert config["eos_token_id"] == base.numbers["eos_token_id"] != base.numbers["pad_token_id"]
    assert base.numbers["tied_embeddings"] and (base.path / "model.safetensors").is_file()


@pytest.mark.parametrize("value, match", [
    ("/no/such/model.gguf", "GGUF file .* not found"),
    ("./not-a-folder", "neither an existing folder"),
])
def test_resolve_base_bad_paths(write_config, value, match):
    from pipeline.train.base import resolve_base

    with pytest.raises(ModelError, match=match):
        resolve_base(load_config(write_config({"model": {"base": value}})))


def test_relative_base_folder_is_read_from_the_config_folder(write_config, tiny_model_dir, tmp_path, monkeypatch):
    """``model.base: models/tiny`` means the folder next to config.yaml, as every other path knob,
    for the train stage and the hybrid dataset backend alike (both go through locate_base)."""
    from pipeline.embedded import locate_base

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny").symlink_to(tiny_model_dir, target_is_directory=True)
    cfg = load_config(write_config({"model": {"base": "models/tiny"}}))
    monkeypatch.chdir(tmp_path / "models")  # not the config's folder
    source = locate_base(cfg)
    assert source.folder == tiny_model_dir.resolve() and source.gguf_file is None
    assert source.where == source.folder and source.load_kwargs == {}


def test_uncached_hub_id_offline_names_the_fix(write_config, monkeypatch, tmp_path):
    from pipeline.train.base import resolve_base

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(ModelError, match="not in the local Hugging Face cache.*huggingface-cli download"):
        resolve_base(load_config(write_config({"model": {"base": "nobody/uncached-model"}})))


def test_gguf_of_unsupported_architecture(write_config, tmp_path):
    import gguf
    import numpy as np

    from pipeline.train.base import resolve_base

    path = tmp_path / "strange.gguf"
    writer = gguf.GGUFWriter(str(path), "strangearch")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelError, match="cannot load .*strange.gguf"):
        resolve_base(load_config(write_config({"model": {"base": str(path)}})))
    assert not list((tmp_path / "artifacts").rglob("manifest.json"))


@pytest.mark.slow
def test_embedded_default_learns_the_resume(write_config):
    """The cpu profile end to end (dataset → base → adapter → merged): ~15-25 min on 2 cores.

    Greedy answers of the merged model on the validation split reach the token F1 gate and
    every refusal row is refused.
    """
    import torch
    from datasets import load_from_disk
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline import metrics
    from pipeline.chain import run_chain

    cfg = load_config(write_config(profile="cpu"))
    arts = run_chain(cfg, until="merged")
    assert arts["base"].numbers["architecture"] == "LlamaForCausalLM"
    tok = AutoTokenizer.from_pretrained(arts["merged"].path)
    model = AutoModelForCausalLM.from_pretrained(arts["merged"].path).eval()
    f1s, refused = [], []
    for row in load_from_disk(str(arts["dataset"].path / "dataset_dict"))["validation"]:
        ids = tok.apply_chat_template(row["messages"][:-1], add_generation_prompt=True, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=cfg.inference.max_new_tokens, do_sample=False,
                                 repetition_penalty=cfg.inference.repetition_penalty)
        text = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        if row["behavior"] == "refuse":
            refused.append(metrics.is_refusal(text, cfg.evaluation.refusal_markers))
        else:
            f1s.append(metrics.token_f1(row["messages"][-1]["content"], text))
    assert f1s and sum(f1s) / len(f1s) >= cfg.evaluation.thresholds.token_f1_min
    assert all(refused)


def test_disk_full_is_a_clear_error_and_leaves_nothing(tmp_path):
    import errno

    from pipeline.errors import PipelineError

    def builder(out: Path) -> dict:
        (out / "model.safetensors").write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(PipelineError, match="disk full while writing .*free space"):
        build("merged", tmp_path / "merged", make_key("merged", {}), builder)
    assert [p.name for p in (tmp_path / "merged").iterdir()] == [".locks"]


@pytest.mark.parametrize(("flags", "native"), [
    ("fpu sse2 avx avx2 fma", False),
    ("fpu avx2 avx512f avx512_bf16", True),
    ("fpu avx2 amx_bf16 amx_tile amx_int8", True),
])
def test_cpu_bf16_auto_follows_the_cpu_flags(tmp_path, monkeypatch, flags, native):
    """``sft.cpu_bf16: auto`` gives bf16 autocast only on a CPU with native bf16 (an AVX2-only
    CPU emulates it, about 12x slower); ``true`` forces it and says why that is slow there."""
    from pipeline.train import sft as sft_mod

    cpuinfo = f"processor\t: 0\nflags\t\t: {flags}\n"
    assert sft_mod.cpu_has_native_bf16(cpuinfo) is native
    monkeypatch.setattr(sft_mod, "cpu_has_native_bf16", lambda cpuinfo=None: native)

    class _Cfg:
        pass

    for knob in ("auto", True, False):
        cfg = _Cfg()
        cfg.sft, cfg.lora = SFTSection(cpu_bf16=knob), LoraSection()
        configs = sft_mod.trainer_configs(cfg, "cpu", tmp_path / str(knob))
        expected = native if knob == "auto" else knob
        assert configs.sft.bf16 is expected, knob
        slow_note = any("12x slower" in n for n in configs.notes)
        assert slow_note == (not native and knob in ("auto", True)), (knob, configs.notes)


def test_cpu_bf16_rejects_other_strings():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SFTSection(cpu_bf16="sometimes")
