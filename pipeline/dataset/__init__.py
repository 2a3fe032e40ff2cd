"""Stage 2, dataset: resume facts → grounded Q/A samples → train/validation split + eval sets.

Entry point: :func:`pipeline.dataset.build.build` (``python -m pipeline dataset``). Modules,
leaf first: ``samples`` (the shared records), ``filters`` (grounding, limits, split),
``template`` and ``llm`` (the two backends; ``server`` is the llama.cpp client the llm
backend talks to), ``refusals`` (refusal pools), ``eval_sets`` (starter eval sets),
``build`` (the stage). ``questions.yaml`` holds the phrasings.
"""
