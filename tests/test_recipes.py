"""Every recipe validates as a whole, and the paper recipes say what the OpenCoder paper says.

The recipes are data that users copy; a recipe that no longer validates (a stage renamed a field) or
that drifted from the paper (someone "tuned" the 1.5B learning rate) must fail here, not on a cluster.
The paper numbers are checked through the code that consumes them: the resolved model shape from
``opc_train.pretrain_stage.build_model_config`` / ``opc_train.model_configs`` and the WSD schedule from
``build_settings``, so a recipe that says the right thing to the wrong field fails too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from opc_core.recipe import load_recipe

REPO = Path(__file__).resolve().parent.parent
RECIPES = sorted((REPO / "recipes").glob("*.yaml")) + sorted((REPO / "tests" / "recipes").glob("*.yaml"))

# arXiv 2411.04905 Table 1 (see the citations in the recipe files)
PAPER_SHAPES = {
    "opencoder-1.5b": dict(n_layers=24, dim=2240, ffn_dim=6144, n_heads=14, n_kv_heads=14, head_dim=160,
                           max_seq_len=4096, rope_theta=10_000.0, vocab_size=96_640),
    "opencoder-8b": dict(n_layers=32, dim=4096, ffn_dim=14336, n_heads=32, n_kv_heads=8, head_dim=128,
                         max_seq_len=8192, rope_theta=500_000.0, vocab_size=96_640),
}
# tokens per optimizer step, stable-phase token budget and decay (annealing) budget: the paper's ~2T / ~2.5T
# pretraining and ~100B annealing tokens, at the official checkpoints' step sizes
PAPER_BUDGETS = {
    "opencoder-1.5b": dict(tokens_per_step=1024 * 4096, stable_tokens=2.0e12, decay_tokens=100e9),
    "opencoder-8b": dict(tokens_per_step=1024 * 8192, stable_tokens=2.5e12, decay_tokens=100e9),
}


def _recipe(name: str, overrides: list[str] | None = None):
    return load_recipe(REPO / "recipes" / f"{name}.yaml", overrides)


def test_recipe_files_are_found():
    names = {p.stem for p in RECIPES}
    assert {"tiny", "opencoder-1.5b", "opencoder-8b", "micro"} <= names, names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_validates_every_stage_section(path: Path):
    recipe = load_recipe(path)
    assert recipe.name == path.stem
    for stage in dict.fromkeys([*recipe.pipeline, *recipe.stages]):
        recipe.stage_config(stage)  # raises when a section was not validated
    resolved = recipe.resolved()
    assert set(recipe.pipeline) <= set(resolved["stages"])
    assert set(recipe.stages) <= set(resolved["stages"])  # sections outside the pipeline are validated too


@pytest.mark.parametrize("name", ["opencoder-1.5b", "opencoder-8b"])
def test_paper_recipe_validates_with_an_s3_workdir_and_sources(name: str):
    """The cluster form of the recipe (object-storage workdir and raw dumps) validates without any I/O."""
    recipe = _recipe(name, [f"workdir=s3://opc-bucket/{name}",
                            'data.ingest.sources=["s3://opc-bucket/raw/stack-v2/*.parquet"]'])
    assert recipe.workdir == f"s3://opc-bucket/{name}"
    assert recipe.stage_config("data").ingest.sources[0].uri == "s3://opc-bucket/raw/stack-v2/*.parquet"


@pytest.mark.parametrize("name", ["opencoder-1.5b", "opencoder-8b"])
def test_paper_recipe_workdir_is_local_by_default(name: str):
    recipe = _recipe(name)
    assert not recipe.workdir.startswith("s3://")
    assert Path(recipe.workdir).name == ("work-1.5b" if name.endswith("1.5b") else "work-8b")


@pytest.mark.parametrize("name", ["opencoder-1.5b", "opencoder-8b"])
def test_paper_model_shape_resolves_to_table_1(name: str):
    from opc_train.model_configs import MODEL_CONFIGS
    from opc_train.pretrain_stage import build_model_config

    recipe = _recipe(name)
    tokenize = recipe.stage_config("tokenize")
    pretrain = recipe.stage_config("pretrain")
    assert tokenize.vocab_size == 96_640
    shape = build_model_config(pretrain, tokenize.vocab_size)
    want = PAPER_SHAPES[name]
    got = {k: getattr(shape, k) for k in want}
    assert got == want
    assert shape.norm_eps == 1e-5
    assert MODEL_CONFIGS[pretrain.model] == shape, "the recipe overrides the named paper shape"
    assert pretrain.seq_len == want["max_seq_len"]


@pytest.mark.parametrize("name", ["opencoder-1.5b", "opencoder-8b"])
def test_paper_wsd_schedule_and_token_budget(name: str):
    from opc_train.pretrain_stage import build_settings
    from opc_train.wsd_schedule import WSDSchedule

    recipe = _recipe(name)
    cfg = recipe.stage_config("pretrain")
    settings = build_settings(cfg, recipe.seed)
    sched = settings.schedule
    assert isinstance(sched, WSDSchedule)
    # WSD: 2,000 linear warmup steps to the 3e-4 peak, flat until the decay, down to 1e-5
    assert sched.warmup_steps == 2000
    assert sched.lr(1999) == pytest.approx(3e-4)
    assert sched.lr(2000) == pytest.approx(3e-4)
    start = sched.start_of_decay
    assert sched.lr(start - 1) == pytest.approx(3e-4)
    assert sched.lr(start + sched.decay_steps // 2) < 3e-4
    assert start + sched.decay_steps == cfg.max_steps
    assert sched.lr(cfg.max_steps) == pytest.approx(1e-5)
    assert sched.lr(cfg.max_steps - 1) == pytest.approx(1e-5, rel=0.05)

    budget = PAPER_BUDGETS[name]
    tokens_per_step = cfg.micro_batch_size * cfg.grad_accum_steps * cfg.nproc * cfg.seq_len
    assert tokens_per_step == budget["tokens_per_step"]
    assert start * tokens_per_step == pytest.approx(budget["stable_tokens"], rel=0.02)
    assert sched.decay_steps * tokens_per_step == pytest.approx(budget["decay_tokens"], rel=0.01)


@pytest.mark.parametrize("name", ["opencoder-1.5b", "opencoder-8b"])
def test_paper_refinecode_data_settings(name: str):
    from opc_data.filtering import FilterConfig

    data = _recipe(name).stage_config("data")
    assert data.ingest.max_file_bytes == 8 * 1024 * 1024
    dedup = data.dedup
    assert (dedup.exact, dedup.fuzzy, dedup.level, dedup.shingle_size) == (True, True, "file", 5)
    assert dedup.num_perm == 2048 and dedup.lsh_params() == (16, 128)
    # the full reference rule set: 450 active rules over 14 scopes, none overridden or switched off
    assert data.filter.thresholds == {}
    table = data.filter.resolved_thresholds()
    assert table == FilterConfig().resolved_thresholds()
    assert len(table) == 14 and sum(r is not None for scope in table.values() for r in scope.values()) == 450
    # Java 409 -> 200 GB and HTML 213 -> 64 GB; nothing else down-sampled
    assert data.sampling.enabled and set(data.sampling.rates) == {"java", "html"}
    assert data.sampling.rates["java"] == pytest.approx(200 / 409, abs=1e-3)
    assert data.sampling.rates["html"] == pytest.approx(64 / 213, abs=1e-3)
    assert data.decontamination.enabled
    assert {"humaneval", "mbpp"} <= {b.name for b in data.decontamination.benchmarks}


@pytest.mark.parametrize("name", ["opencoder-1.5b", "opencoder-8b"])
def test_paper_release_names(name: str):
    from opc_release.stage import release_names

    recipe = _recipe(name)
    cfg = recipe.stage_config("release")
    assert release_names(cfg, recipe.resolved(), recipe.name) == (f"opc-{name}-instruct", "1.0.0")
    assert (cfg.model_stage, cfg.eval_stage, cfg.base_eval_stage) == ("sft2", "eval", "eval_base")


@pytest.mark.parametrize("name", ["opencoder-1.5b", "opencoder-8b"])
def test_paper_sft_hyper_parameters(name: str):
    """[P]: stage 1 1 epoch, lr 2e-5, batch 4096, max len 1216; stage 2 3 epochs, lr 5e-5, batch 512, max len
    1500; warmup 100 and cosine for both; sft2 starts from sft1; eval is chat mode on sft2."""
    recipe = _recipe(name)
    s1, s2 = recipe.stage_config("sft1"), recipe.stage_config("sft2")
    assert (s1.epochs, s1.lr, s1.global_batch, s1.max_len, s1.warmup_steps) == (1, 2e-5, 4096, 1216, 100)
    assert (s2.epochs, s2.lr, s2.global_batch, s2.max_len, s2.warmup_steps) == (3, 5e-5, 512, 1500, 100)
    assert (s1.model_stage, s2.model_stage) == ("anneal", "sft1")
    assert s1.max_steps is None and s2.max_steps is None  # whole epochs, not capped
    ev, base = recipe.stage_config("eval"), recipe.stage_config("eval_base")
    assert (ev.model_stage, ev.mode, base.model_stage, base.mode) == ("sft2", "chat", "pretrain", "completion")
    assert {"humaneval", "mbppplus", "leetcode", "bigcodebench-hard"} <= {b.name for b in ev.benchmarks}


@pytest.mark.parametrize("name", ["opencoder-1.5b", "opencoder-8b"])
def test_paper_anneal_mix(name: str):
    """[P]: 84.21B original distribution + 12.44B algorithmic + 2.71B snippets + 0.91B textbooks, ~100B."""
    from opc_train.anneal_mixture import planned_tokens

    cfg = _recipe(name).stage_config("anneal")
    plan = planned_tokens(cfg.sources, cfg.total_tokens)
    assert plan == {"original": 84_210_000_000, "algorithmic": 12_440_000_000, "snippets": 2_710_000_000,
                    "textbooks": 910_000_000}
    assert {s.name: s.input for s in cfg.sources} == {"original": "data", "algorithmic": "algorithmic",
                                                       "snippets": "synth", "textbooks": "synth"}
    tokens_per_step = PAPER_BUDGETS[name]["tokens_per_step"]
    assert cfg.decay_steps * tokens_per_step == pytest.approx(100e9, rel=0.01)
    assert cfg.optimizer in ("keep", "reset") and cfg.data_position == "reset"
    pre = _recipe(name).stage_config("pretrain")
    assert cfg.from_step % pre.milestone_every == 0  # a kept checkpoint
    assert cfg.from_step <= (pre.decay_start or pre.max_steps)  # in the stable phase


def test_micro_recipe_is_small():
    """The micro recipe must stay seconds-small: tests and notebooks run it once per session."""
    from opc_train.pretrain_stage import build_model_config

    recipe = load_recipe(REPO / "tests" / "recipes" / "micro.yaml")
    assert recipe.pipeline[:4] == ["data", "recall", "tokenize", "pretrain"]
    pre = recipe.stage_config("pretrain")
    shape = build_model_config(pre, recipe.stage_config("tokenize").vocab_size)
    assert shape.n_layers == 2 and shape.num_params() < 500_000
    assert pre.max_steps <= 50 and pre.device == "cpu"
    sources = recipe.stage_config("data").ingest.sources
    assert all(s.kind == "embedded" and len(s.distributions) <= 3 for s in sources)
