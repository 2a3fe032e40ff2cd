"""Stage 6, publishing: the model and dataset trees for the Hugging Face Hub, with cards.

Entry point: :func:`pipeline.publish.publish.publish` (``python -m pipeline publish
model|dataset [--dry-run]``); ``cards`` renders the READMEs from ``templates/``.
"""
