"""Resume → grounded Q/A dataset → LoRA SFT → merged model → ONNX variants → evaluation gates.

Run ``python -m pipeline --help`` for the commands; ``pytest evals -m smoke`` for the gates.
"""

__version__ = "0.1.0"
