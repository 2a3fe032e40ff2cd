"""Stage 1, ingestion: a resume file (PDF, Markdown, JSON Resume, RenderCV YAML) → scrubbed facts.

Entry point: :func:`pipeline.resume.ingest.ingest`; ``python -m pipeline preview`` prints
what it extracted. Modules: ``ingest`` (the stage and the fact records), ``formats`` (text
and layout readers), ``structured`` (JSON Resume and RenderCV), ``pii`` (the scrubber).
"""
