"""opc-core: what every stage of the OpenCoder Cookbook shares.

Recipes (typed YAML config), storage (fsspec URIs: local paths and s3://), Parquet dataset shards,
manifests with content keys and lineage, the stage contract and the in-process runner, progress
and logging. Stages live in their own packages and meet only at datasets and manifests.
"""

from opc_core.errors import OpcError
from opc_core.manifest import Manifest
from opc_core.recipe import Recipe, load_recipe
from opc_core.stage import StageContext, StageResult, StageSpec

__all__ = ["Manifest", "OpcError", "Recipe", "StageContext", "StageResult", "StageSpec", "load_recipe"]
