"""Stage 4, ONNX: merged model → ``onnx/model.onnx`` → quantized variants, and running them.

Entry points: :func:`pipeline.onnx.export.export`, :func:`pipeline.onnx.quantize.quantize`
(``python -m pipeline export`` / ``quantize``). ``runtime`` is the onnxruntime generator
every consumer uses (harness, chat, parity); ``parity`` compares it with transformers.js;
``chat`` is ``python -m pipeline chat``.
"""
