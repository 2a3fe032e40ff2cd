"""Stage 3, training: base model → LoRA adapter → merged float32 model.

Entry points: :func:`pipeline.train.base.resolve_base`, :func:`pipeline.train.sft.train`,
:func:`pipeline.train.merge.merge` (``python -m pipeline sft`` / ``merge``). ``tiny`` makes
the random two-layer model the tests train.
"""
