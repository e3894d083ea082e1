"""opc-release: export a trained checkpoint as a verified, versioned Hugging Face model directory.

Modules: ``hf_export`` (config/safetensors/tokenizer), ``model_card`` (README from manifests),
``checksums`` (GNU SHA256SUMS), ``verify`` (``opc release verify``), ``publish`` (folder, s3://, Hub),
``stage`` (the ``release`` stage), ``cli`` (``opc release ...``).
"""

from opc_release.stage import STAGE, ReleaseConfig

__all__ = ["STAGE", "ReleaseConfig"]
