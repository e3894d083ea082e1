"""The synth generators by name (each a small class; prompt templates in ``opc_synth/templates``)."""

from __future__ import annotations

from opc_synth.generators.base import Generator, Parsed, Rejected, SeedPool
from opc_synth.generators.code_generators import EducationalInstruct, HqSnippets
from opc_synth.generators.text_generators import DiverseInstruct, PackageInstruct, Textbooks

GENERATORS: dict[str, type[Generator]] = {g.name: g for g in (HqSnippets, Textbooks, EducationalInstruct,
                                                                PackageInstruct, DiverseInstruct)}

__all__ = ["GENERATORS", "Generator", "Parsed", "Rejected", "SeedPool"]
