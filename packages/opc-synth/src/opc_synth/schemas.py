"""Output schemas of opc-synth (docs/interfaces.md): pretraining-style sets and instruction sets.

Pretraining-style sets (algorithmic, hq_snippets, textbooks) use the data stage's document columns, so
``tokenize`` and the anneal mixture read them like any ``kept/`` dataset, plus provenance:

    repo_name  the seed record's repository (the unit tokenize's validation split holds out)
    path       seed path + "#" + generator + "/" + index (the algorithmic set: the file's own path)
    content, program_lang, doc_type ("code" for selected files, "synthetic" for generated text)
    generator, teacher ("" when none), tests (Python source or null), exec_status (passed | not_run)

Instruction sets (educational_instruct, package_instruct, diverse_instruct): ``messages`` is a list of
``{role, content}`` (user then assistant), plus the same provenance columns.
"""

from __future__ import annotations

import pyarrow as pa

PROVENANCE = [
    pa.field("generator", pa.string()), pa.field("teacher", pa.string()), pa.field("tests", pa.string()),
    pa.field("exec_status", pa.string()),
]
PRETRAIN_SCHEMA = pa.schema([
    pa.field("content", pa.string()), pa.field("repo_name", pa.string()), pa.field("path", pa.string()),
    pa.field("doc_type", pa.string()), pa.field("program_lang", pa.string()), *PROVENANCE,
])
ALGORITHMIC_SCHEMA = PRETRAIN_SCHEMA.append(pa.field("markers", pa.list_(pa.string())))
MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])
INSTRUCT_SCHEMA = pa.schema([
    pa.field("messages", pa.list_(MESSAGE)), pa.field("repo_name", pa.string()), pa.field("path", pa.string()),
    pa.field("program_lang", pa.string()), *PROVENANCE,
])
REJECTED_SCHEMA = pa.schema([
    pa.field("set", pa.string()), pa.field("repo_name", pa.string()), pa.field("path", pa.string()),
    pa.field("reason", pa.string()), pa.field("detail", pa.string()),
])
