"""infra/ renders and validates offline: every Kubernetes object against the API schema (strict), the
kustomization lists every manifest, images are the ones we build, and prefect.yaml entrypoints load."""

from __future__ import annotations

import importlib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "infra" / "k8s"


def _objects() -> list[tuple[str, dict]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    out = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            if doc:
                out.append((name, doc))
    return out


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize("name,obj", _objects(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_manifest_validates_against_kubernetes_schema(name, obj):
    kubernetes_validate.validate(obj, "1.30", strict=True)


def test_images_and_stage_commands_exist():
    images = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["images"][i]["name"] for i in range(2))
    for tag in ("cpu", "gpu"):
        assert f"opc-{tag}" in images and (REPO / "infra" / "images" / f"Dockerfile.{tag}").is_file()
    train = next(o for n, o in _objects() if o["kind"] == "Job")
    args = train["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["run", "pretrain"]


def test_prefect_yaml_entrypoints_are_flows():
    spec = yaml.safe_load((REPO / "flows" / "prefect.yaml").read_text())
    for dep in spec["deployments"]:
        path, attr = dep["entrypoint"].split(":")
        module = importlib.import_module(Path(path).with_suffix("").as_posix().replace("/", "."))
        flow = getattr(module, attr)
        assert hasattr(flow, "to_deployment"), dep["entrypoint"]
