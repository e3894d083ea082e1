"""infra/ is checked offline, against the real tools: every kustomization renders with `kubectl kustomize`
and every object it renders validates strictly against the Kubernetes OpenAPI schema (kubernetes-validate)
or, for the JobSet, against the CRD schema vendored under infra/k8s/schemas/; placement (node affinity,
tolerations, nvidia.com/gpu) is the same everywhere a pod can come from; the Prefect work-pool templates
are Prefect's Kubernetes default plus ours and render to valid Jobs; flows/prefect.yaml has a deployment
for every registered stage on the right pool; the images install what `make install` installs.

The slow tests start real components: a Prefect server that gets the work pools from
infra/prefect/create-work-pools.sh and the deployments from `prefect deploy --all`, then dispatches the
pools' reproduce flow to a stage deployment; the multi-node launcher of the pretraining JobSet as two
"nodes" (two processes with two gloo ranks each) on the micro recipe; and the data stage's SparkSession
reading the cluster's spark-defaults.conf.

kubectl is a system package (.ci/run installs it): without it these tests fail under CI=true and skip
elsewhere.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "infra" / "k8s"
PREFECT_DIR = REPO / "infra" / "prefect"
K8S_VERSION = "1.32"  # the oldest Kubernetes these manifests target (native sidecars, JobSet 0.9)

# The pool each stage's flow runs on, and how: "cpu", "gpu" (a whole 8-GPU node), "gpu-vllm" (one GPU,
# vLLM from the image's managed venv). A stage registered without an entry here fails the test below.
STAGE_POOLS = {
    "data": "cpu", "recall": "cpu", "algorithmic": "cpu", "tokenize": "cpu", "release": "cpu",
    "pretrain": "gpu", "anneal": "gpu", "sft1": "gpu", "sft2": "gpu",
    "eval": "gpu-vllm", "eval_base": "gpu-vllm", "synth": "gpu-vllm",
}
# PENDING: stages that other branches are adding right now; prefect.yaml may deploy them before their
# entry point is registered. Empty this set when those branches are merged (every name must then be a
# registered stage, or the deployment goes).
PENDING: set[str] = set()


# --- kubectl -----------------------------------------------------------------------------------------

def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found:
        _check_kustomize(found)
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("kubectl is not installed: .ci/run installs it with apt-get (package kubectl); "
                    "the infra tests must run in CI")
    pytest.skip("kubectl is not installed (apt-get install kubectl); CI installs it and runs these tests")


_CHECKED: list[str] = []


def _check_kustomize(kubectl: str) -> None:
    """Components need kubectl's built-in kustomize v4 or later (kubectl >= 1.21; Debian 12's is 1.20)."""
    if kubectl in _CHECKED:
        return
    out = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60)
    version = json.loads(out.stdout or "{}").get("kustomizeVersion", "")
    major = re.match(r"v(\d+)", version)
    assert major and int(major.group(1)) >= 4, (
        f"{kubectl} has kustomize {version or 'unknown'}; infra/k8s needs kustomize v4+ (kubectl 1.21 or later)")
    _CHECKED.append(kubectl)


def _kustomization_dirs() -> list[Path]:
    """Every directory with a Kustomization (not a Component): each must build on its own."""
    out = []
    for path in sorted(K8S.rglob("kustomization.yaml")):
        if yaml.safe_load(path.read_text()).get("kind", "Kustomization") == "Kustomization":
            out.append(path.parent)
    return out


OVERLAYS = [K8S, K8S / "overlays" / "cpu", K8S / "overlays" / "gpu"]
_RENDERED: dict[Path, list[dict]] = {}


def _render(path: Path) -> list[dict]:
    if path not in _RENDERED:
        proc = subprocess.run([_kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"kubectl kustomize {path.relative_to(REPO)} failed:\n{proc.stderr}"
        _RENDERED[path] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return _RENDERED[path]


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# --- schemas -----------------------------------------------------------------------------------------

def _strict(schema):
    """A CRD's structural schema made strict like kubernetes-validate's: unknown fields are errors."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out \
            and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def _crd_schemas() -> dict[tuple[str, str], dict]:
    out = {}
    for path in (K8S / "schemas").glob("*.json"):
        doc = json.loads(path.read_text())
        out[(f"{doc['group']}/{doc['version']}", doc["kind"])] = _strict(doc["openAPIV3Schema"])
    return out


def _validate(obj: dict) -> None:
    key = (obj["apiVersion"], obj["kind"])
    crds = _crd_schemas()
    if key in crds:
        jsonschema.validate(obj, crds[key], cls=jsonschema.Draft7Validator)
        return
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def _pod_specs(obj: dict) -> list[tuple[dict, dict]]:
    """(pod spec, pod labels) of every pod a workload object creates."""
    kind, spec = obj["kind"], obj.get("spec", {})
    if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return [(spec["template"]["spec"], obj["metadata"].get("labels", {}))]
    if kind == "JobSet":
        return [(rj["template"]["spec"]["template"]["spec"], obj["metadata"].get("labels", {}))
                for rj in spec["replicatedJobs"]]
    return []


def _placement(pool: str) -> tuple[dict, list]:
    """The pool's affinity and tolerations, from its component (the one place placement is written)."""
    comp = yaml.safe_load((K8S / "components" / f"{pool}-pool" / "kustomization.yaml").read_text())
    ops = yaml.safe_load(comp["patches"][0]["patch"])
    by_path = {op["path"].rsplit("/", 1)[1]: op["value"] for op in ops}
    return by_path["affinity"], by_path["tolerations"]


# --- kustomize + schemas -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", _kustomization_dirs(), ids=_rel)
def test_every_kustomization_builds_alone(path):
    assert _render(path), f"{_rel(path)} rendered nothing"


def test_every_manifest_file_is_part_of_a_kustomization():
    """No manifest under infra/k8s is forgotten: each is listed in its folder's kustomization."""
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        kust = yaml.safe_load((path.parent / "kustomization.yaml").read_text())
        assert path.name in kust.get("resources", []), f"{_rel(path)} is in no kustomization's resources"


def test_overlays_are_the_documented_ones():
    assert set(OVERLAYS) <= set(_kustomization_dirs())
    assert {p.name for p in (K8S / "overlays").iterdir()} == {"cpu", "gpu"}


@pytest.mark.parametrize("path", OVERLAYS, ids=_rel)
def test_every_rendered_object_validates_against_its_schema(path):
    bad = []
    for obj in _render(path):
        try:
            _validate(obj)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
            bad.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc}")
        except kubernetes_validate.SchemaNotFoundError:
            bad.append(f"{obj['kind']}/{obj['metadata']['name']} ({obj['apiVersion']}): no schema; vendor the "
                       f"CRD's openAPIV3Schema under infra/k8s/schemas/")
    assert not bad, "\n".join(bad)


def test_schema_check_rejects_a_misspelt_field():
    """The validation above can fail: a typo in a Deployment and in the JobSet (a CRD) are both caught."""
    objs = _render(K8S)
    deployment = copy.deepcopy(next(o for o in objs if o["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
    jobset = copy.deepcopy(next(o for o in objs if o["kind"] == "JobSet"))
    jobset["spec"]["failurePolicy"]["maxRestart"] = 3
    with pytest.raises(jsonschema.ValidationError):
        _validate(jobset)


@pytest.mark.parametrize("path", OVERLAYS, ids=_rel)
def test_pods_land_on_their_pool_and_only_gpu_pods_take_gpus(path):
    objs = _render(path)
    assert all(o["metadata"].get("namespace") == "opc" for o in objs
               if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"))
    for obj in objs:
        for pod, labels in _pod_specs(obj):
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            pool = labels.get("opc.dev/pool")
            assert pool in ("cpu", "gpu"), f"{name}: label opc.dev/pool=cpu|gpu decides its placement"
            affinity, tolerations = _placement(pool)
            assert pod.get("affinity") == affinity and pod.get("tolerations") == tolerations, name
            for c in pod["containers"]:
                res = c.get("resources", {})
                assert "memory" in res.get("limits", {}), f"{name}/{c['name']}: memory limit"
                gpus = (res.get("requests", {}).get("nvidia.com/gpu"), res.get("limits", {}).get("nvidia.com/gpu"))
                if pool == "gpu":
                    assert gpus[0] and gpus[0] == gpus[1], f"{name}/{c['name']}: GPUs requested == limited"
                else:
                    assert gpus == (None, None), f"{name}/{c['name']}: a CPU-pool pod takes no GPU"
            for c in pod.get("initContainers", []):
                assert "nvidia.com/gpu" not in c.get("resources", {}).get("limits", {}), name


def test_gpu_overlay_has_multinode_training_and_vllm_and_cpu_overlay_has_spark():
    gpu = {(o["kind"], o["metadata"]["name"]) for o in _render(K8S / "overlays" / "gpu")}
    cpu = {(o["kind"], o["metadata"]["name"]) for o in _render(K8S / "overlays" / "cpu")}
    assert {("JobSet", "opc-pretrain"), ("Deployment", "opc-vllm"), ("Service", "opc-vllm")} <= gpu
    assert ("Job", "opc-data-spark") in cpu and ("Job", "opc-data-spark") not in gpu
    for objs in (gpu, cpu):
        assert {("Deployment", "prefect-server"), ("Deployment", "prefect-worker-cpu"),
                ("Deployment", "prefect-worker-gpu")} <= objs


def test_pretrain_jobset_rendezvous_matches_jobset_dns_and_node_count():
    js = next(o for o in _render(K8S) if o["kind"] == "JobSet")
    (rjob,) = js["spec"]["replicatedJobs"]
    job = rjob["template"]["spec"]
    pod = job["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    # JobSet names pods <jobset>-<replicatedJob>-<job index>-<pod index> under the subdomain's headless service
    assert js["spec"]["network"]["enableDNSHostnames"] is True
    leader = f"{js['metadata']['name']}-{rjob['name']}-0-0.{js['spec']['network']['subdomain']}"
    assert env["OPC_RDZV_HOST"] == leader
    assert int(env["OPC_NNODES"]) == job["parallelism"] == job["completions"] and job["completionMode"] == "Indexed"
    gpus = pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
    assert int(env["OPC_PROCS_PER_NODE"]) == int(gpus) == 8
    assert js["spec"]["failurePolicy"]["maxRestarts"] >= 1 and int(env["OPC_MAX_RESTARTS"]) >= 1
    launcher = next(o for o in _render(K8S) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "opc-node-launcher")
    assert launcher["data"]["node-launcher.sh"] == (K8S / "training" / "node-launcher.sh").read_text()


def test_applying_the_cluster_starts_no_work():
    """`kubectl apply -k infra/k8s` on an empty cluster must not start a stage before its inputs exist."""
    objs = {(o["kind"], o["metadata"]["name"]): o for o in _render(K8S)}
    assert objs[("Job", "opc-data-spark")]["spec"]["suspend"] is True
    assert objs[("JobSet", "opc-pretrain")]["spec"]["suspend"] is True
    assert objs[("Deployment", "opc-vllm")]["spec"]["replicas"] == 0


def test_one_image_reference_everywhere():
    """The images component, the work-pool templates and Spark's executor image name the same images."""
    comp = yaml.safe_load((K8S / "components" / "images" / "kustomization.yaml").read_text())
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in comp["images"]}
    for pool in ("cpu", "gpu"):
        assert _template(pool)["variables"]["properties"]["image"]["default"] == images[f"opc-{pool}"]
    conf = next(o for o in _render(K8S) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "opc-spark-conf")
    assert f"spark.kubernetes.container.image {images['opc-cpu']}" in " ".join(conf["data"]["spark-defaults.conf"].split())
    rendered = {c["image"] for o in _render(K8S) for pod, _ in _pod_specs(o)
                for c in pod["containers"] + pod.get("initContainers", [])}
    assert rendered <= set(images.values())


def test_spark_executor_template_is_a_valid_pod_on_the_cpu_pool():
    conf = next(o for o in _render(K8S) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "opc-spark-conf")
    pod = yaml.safe_load(conf["data"]["executor-pod-template.yaml"])
    _validate(pod)
    affinity, tolerations = _placement("cpu")
    assert pod["spec"]["affinity"] == affinity and pod["spec"]["tolerations"] == tolerations
    defaults = dict(line.split(None, 1) for line in conf["data"]["spark-defaults.conf"].splitlines() if line.strip())
    assert defaults["spark.kubernetes.executor.podTemplateFile"].endswith("/executor-pod-template.yaml")
    assert defaults["spark.kubernetes.executor.podTemplateContainerName"] == pod["spec"]["containers"][0]["name"]


# --- Prefect work pools ------------------------------------------------------------------------------

def _template(pool: str) -> dict:
    return json.loads((PREFECT_DIR / f"base-job-template-{pool}.json").read_text())


def _render_job(template: dict, job_variables: dict) -> dict:
    """The Job a Kubernetes worker would create for a flow run (prefect-kubernetes' own code, no server)."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.utilities.templating import apply_values
    from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

    props = template["variables"]["properties"]
    values = {k: v["default"] for k, v in props.items() if "default" in v} | job_variables
    config = KubernetesWorkerJobConfiguration(**apply_values(template["job_configuration"], values))
    config.prepare_for_flow_run(FlowRun(flow_id=uuid.uuid4(), name="opc-test-run"))
    return config.job_manifest


def _placeholders(node) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(_placeholders(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_placeholders(v) for v in node)) if node else set()
    return set(re.findall(r"\{\{\s*(\w+)\s*\}\}", node)) if isinstance(node, str) else set()


@pytest.mark.parametrize("pool", ["cpu", "gpu"])
def test_work_pool_template_extends_prefects_kubernetes_default(pool):
    """What `prefect work-pool get-default-base-job-template --type kubernetes` gives in our pinned
    prefect + prefect-kubernetes: ours keeps its job configuration and every variable (same types)."""
    from prefect_kubernetes.worker import KubernetesWorker

    default, ours = KubernetesWorker.get_default_base_job_template(), _template(pool)
    assert set(ours["job_configuration"]) == set(default["job_configuration"])
    for name, spec in default["variables"]["properties"].items():
        assert name in ours["variables"]["properties"], f"variable {name} of the default template is missing"
        mine = ours["variables"]["properties"][name]
        assert mine.get("type") == spec.get("type") and mine.get("anyOf") == spec.get("anyOf"), name
    declared = set(ours["variables"]["properties"])
    assert _placeholders(ours["job_configuration"]) <= declared


@pytest.mark.parametrize("pool,gpus", [("cpu", None), ("gpu", 8), ("gpu", 1)])
def test_work_pool_template_renders_a_valid_job_on_its_pool(pool, gpus):
    job = _render_job(_template(pool), {"gpu_count": gpus} if gpus else {})
    kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    pod = job["spec"]["template"]["spec"]
    affinity, tolerations = _placement(pool)
    assert pod["affinity"] == affinity and pod["tolerations"] == tolerations
    assert job["metadata"]["namespace"] == "opc" and pod["serviceAccountName"] == "opc-runner"
    c = pod["containers"][0]
    assert c["image"] == f"ghcr.io/opencoder-cookbook/opc-{pool}:0.1.0"
    assert {e["secretRef"]["name"] for e in c["envFrom"]} == {"opc-s3", "opc-hub", "opc-openai"}
    assert c["resources"]["limits"].get("nvidia.com/gpu") == gpus == c["resources"]["requests"].get("nvidia.com/gpu")
    assert any(e["name"] == "PREFECT__FLOW_RUN_ID" for e in c["env"])  # the worker's env still gets in
    if pool == "cpu":  # the data stage's Spark driver: client mode, conf from the ConfigMap, pod IP advertised
        env = {e["name"]: e for e in c["env"]}
        assert env["SPARK_CONF_DIR"]["value"] == "/etc/opc/spark"
        assert env["SPARK_LOCAL_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
        assert {"name": "spark-conf", "configMap": {"name": "opc-spark-conf"}} in pod["volumes"]


def test_work_pool_script_creates_both_pools_from_the_templates():
    script = (PREFECT_DIR / "create-work-pools.sh").read_text()
    assert "work-pool create" in script and "--type kubernetes" in script and "--base-job-template" in script
    assert 'for pool in cpu gpu' in script and "base-job-template-$pool.json" in script


# --- prefect.yaml ------------------------------------------------------------------------------------

def _prefect_yaml() -> dict:
    return yaml.safe_load((REPO / "flows" / "prefect.yaml").read_text())


def _stage_deployments() -> dict[str, dict]:
    return {d["parameters"]["stage"]: d for d in _prefect_yaml()["deployments"]
            if d["entrypoint"] == "flows/stage_flows.py:stage_flow"}


def test_prefect_yaml_deploys_every_registered_stage_on_its_pool():
    # the stages registered by entry point (what an installed package provides), not ones a test registers
    from importlib.metadata import entry_points

    registered = {ep.name for ep in entry_points(group="opc.stages")}
    deployed = _stage_deployments()
    missing_pool = registered - set(STAGE_POOLS)
    assert not missing_pool, f"stages {sorted(missing_pool)} have no pool: add them to STAGE_POOLS and prefect.yaml"
    assert not registered - set(deployed), f"no deployment in flows/prefect.yaml for {sorted(registered - set(deployed))}"
    unknown = set(deployed) - registered - PENDING
    assert not unknown, f"prefect.yaml deploys unregistered stages {sorted(unknown)} (not in PENDING)"
    for stage, dep in deployed.items():
        assert dep["name"] == stage
        pool = STAGE_POOLS[stage]
        variables = dep["work_pool"].get("job_variables", {})
        assert dep["work_pool"]["name"] == ("opc-cpu" if pool == "cpu" else "opc-gpu"), stage
        assert variables.get("gpu_count") == {"cpu": None, "gpu": 8, "gpu-vllm": 1}[pool], stage


def test_prefect_yaml_orchestrators_dispatch_to_the_stage_deployments():
    from flows.pool_flows import stage_deployment

    by_name = {d["name"]: d for d in _prefect_yaml()["deployments"]}
    assert by_name["reproduce"]["entrypoint"] == "flows/pool_flows.py:pools_reproduce_flow"
    assert by_name["retrain"]["entrypoint"] == "flows/pool_flows.py:pools_retrain_flow"
    assert by_name["retrain"]["schedules"][0]["cron"]
    for name in ("reproduce", "retrain"):
        assert by_name[name]["work_pool"]["name"] == "opc-cpu"
        assert "gpu_count" not in by_name[name]["work_pool"].get("job_variables", {})
    # the stage flow is named "stage" and each stage deployment after its stage: "stage/<name>"
    from flows.stage_flows import stage_flow
    assert stage_deployment("data") == f"{stage_flow.name}/data"
    params = [d["parameters"] for d in _prefect_yaml()["deployments"]]
    assert all({k: v for k, v in p.items() if k != "stage"} == params[0] for p in params), \
        "every deployment must run the same recipe + overrides (else stages get different content keys)"


def test_prefect_yaml_and_the_spark_job_run_the_same_recipe_overrides():
    """The kubectl Job and the Prefect deployment of `data` must share content keys."""
    job = next(o for o in _render(K8S) if o["kind"] == "Job" and o["metadata"]["name"] == "opc-data-spark")
    args = job["spec"]["template"]["spec"]["containers"][0]["command"]
    run_env = next(o for o in _render(K8S) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "opc-run")["data"]
    params = _stage_deployments()["data"]["parameters"]
    as_k8s = [re.sub(r"\{\{ \$(\w+) \}\}", r"$(\1)", o) for o in params["overrides"]]
    assert args[args.index("--recipe") + 1] == "$(OPC_RECIPE)" == re.sub(r"\{\{ \$(\w+) \}\}", r"$(\1)",
                                                                         params["recipe_path"])
    assert args[args.index("--recipe") + 2:] == as_k8s
    used = set(re.findall(r"\{\{ \$(\w+) \}\}", json.dumps(params)))
    assert used <= set(run_env), f"prefect.yaml reads {sorted(used - set(run_env))} that the opc-run ConfigMap lacks"


def test_prefect_yaml_entrypoints_are_flows():
    import importlib

    for dep in _prefect_yaml()["deployments"]:
        path, attr = dep["entrypoint"].split(":")
        module = importlib.import_module(Path(path).with_suffix("").as_posix().replace("/", "."))
        assert hasattr(getattr(module, attr), "to_deployment"), dep["entrypoint"]


# --- images ------------------------------------------------------------------------------------------

def _makefile_packages() -> list[str]:
    text = (REPO / "Makefile").read_text()
    match = re.search(r"^PACKAGES\s*:?=\s*(.+)$", text, re.M)
    assert match, "the Makefile lost its PACKAGES list"
    return match.group(1).split()


def test_images_install_what_make_install_installs():
    """The images run `make install`: the lock file and every package of the Makefile's PACKAGES list."""
    makefile = (REPO / "Makefile").read_text()
    install = makefile[makefile.index("$(STAMP):"):makefile.index("reproduce:")]
    assert "-r requirements/lock.txt" in install and "$(foreach p,$(PACKAGES),-e $(p))" in install
    packages = _makefile_packages()
    on_disk = sorted(str(p.parent.relative_to(REPO)) for p in REPO.glob("packages/*/pyproject.toml"))
    assert sorted(packages) == on_disk, "every package under packages/ must be in the Makefile's PACKAGES"
    for tag in ("cpu", "gpu"):
        text = (REPO / "infra" / "images" / f"Dockerfile.{tag}").read_text()
        assert "COPY . /opt/opc" in text and re.search(r"RUN make install PYTHON=python3\.11\b", text), tag
        assert "ENTRYPOINT [\"/opt/opc/infra/images/entrypoint.sh\"]" in text, tag
    assert "vllm_env" in (REPO / "infra" / "images" / "Dockerfile.gpu").read_text()
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv/" in ignored and "work/" in ignored
    assert os.access(REPO / "infra" / "images" / "entrypoint.sh", os.X_OK)
    lock = (REPO / "requirements" / "lock.txt").read_text()
    assert re.search(r"^prefect-kubernetes==", lock, re.M), "the workers' `--type kubernetes` needs prefect-kubernetes"


def test_spark_executor_entrypoint_class_ships_with_pyspark():
    """The image's `executor` branch starts pyspark's KubernetesExecutorBackend: the pinned pyspark has it."""
    import zipfile

    import pyspark

    jars = list((Path(pyspark.__file__).parent / "jars").glob("spark-kubernetes_*.jar"))
    assert len(jars) == 1, jars
    with zipfile.ZipFile(jars[0]) as jar:
        assert "org/apache/spark/scheduler/cluster/k8s/KubernetesExecutorBackend.class" in jar.namelist()
    assert "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend" in \
        (REPO / "infra" / "images" / "entrypoint.sh").read_text()


def test_image_entrypoint_passes_commands_through():
    proc = subprocess.run(["bash", str(REPO / "infra" / "images" / "entrypoint.sh"), "echo", "through"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.strip() == "through"


# --- real components (slow) --------------------------------------------------------------------------

def _wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} not healthy after {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


READ_BACK = r"""
import json, anyio
from prefect.client.orchestration import get_client

async def main():
    async with get_client() as c:
        pools = {p.name: {"type": p.type, "template": p.base_job_template} for p in await c.read_work_pools()}
        deps = {}
        for d in await c.read_deployments():
            flow = await c.read_flow(d.flow_id)
            deps[f"{flow.name}/{d.name}"] = {"pool": d.work_pool_name, "job_variables": d.job_variables,
                                             "parameters": d.parameters}
        print("READ " + json.dumps({"pools": pools, "deployments": deps}))
        for d in await c.read_deployments():  # the dispatch part serves its own "stage/<name>" deployments
            await c.delete_deployment(d.id)
anyio.run(main)
"""

WAIT_SERVED = r"""
import sys, time, anyio
from prefect.client.orchestration import get_client

async def main():
    async with get_client() as c:
        for _ in range(240):
            try:
                await c.read_deployment_by_name(sys.argv[1])
                print("SERVED", flush=True)
                return
            except Exception:
                time.sleep(1)
anyio.run(main)
"""

DISPATCH = r"""
import json, sys
from flows.prefect_env import configure_prefect
configure_prefect()
from flows.pool_flows import pools_reproduce_flow, pools_retrain_flow
print("DONE " + json.dumps(pools_reproduce_flow(sys.argv[1], [])), flush=True)
print("RETRAIN1 " + json.dumps(pools_retrain_flow(sys.argv[1], [])), flush=True)
print("RETRAIN2 " + json.dumps(pools_retrain_flow(sys.argv[1], [])), flush=True)
"""


@pytest.mark.slow
@pytest.mark.prefect_server
def test_work_pools_deployments_and_pool_dispatch_on_a_real_prefect_server(tmp_path, loopback_port,
                                                                          micro_recipe_path):
    """create-work-pools.sh + `prefect deploy --all` against a real server: the pools hold our templates,
    every deployment is on its pool with the environment's settings filled in, and each renders to a valid
    Job. Then the pools' reproduce flow dispatches the micro recipe's data stage to the `stage/data`
    deployment (served from a process here, where no Kubernetes cluster runs) and completes."""
    api = f"http://127.0.0.1:{loopback_port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.pop("PREFECT_API_URL", None)
    prefect = str(Path(sys.executable).with_name("prefect"))
    logs = tmp_path / "logs"
    logs.mkdir()
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(loopback_port)],
                              env=env, stdout=open(logs / "server.log", "w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    serving = None
    try:
        _wait_http(f"{api}/health", 120, server)
        client = {**env, "PREFECT_API_URL": api, "PREFECT": prefect, "OPC_RECIPE": "/opt/opc/recipes/r.yaml",
                  "OPC_WORKDIR": "s3://bucket/run", "OPC_RAW_STACK": "s3://bucket/raw/stack",
                  "OPC_RAW_GITHUB": "s3://bucket/raw/gh"}
        # the CLI's default template for the kubernetes type is the one the offline tests compare against
        default = subprocess.run([prefect, "work-pool", "get-default-base-job-template", "--type", "kubernetes"],
                                 env=client, capture_output=True, text=True, timeout=300)
        from prefect_kubernetes.worker import KubernetesWorker
        assert json.loads(default.stdout) == KubernetesWorker.get_default_base_job_template(), default.stderr
        subprocess.run(["bash", str(PREFECT_DIR / "create-work-pools.sh")], env=client, check=True,
                       capture_output=True, timeout=300)
        deploy = subprocess.run([prefect, "--no-prompt", "deploy", "--all", "--prefect-file", "flows/prefect.yaml"],
                                env=client, cwd=REPO, capture_output=True, text=True, timeout=600)
        assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
        read = subprocess.run([sys.executable, "-c", READ_BACK], env=client, cwd=REPO, capture_output=True,
                              text=True, timeout=300)
        state = json.loads(read.stdout.split("READ ", 1)[1])
        for pool in ("cpu", "gpu"):
            assert state["pools"][f"opc-{pool}"] == {"type": "kubernetes", "template": _template(pool)}
        deps = state["deployments"]
        assert {"reproduce-on-pools/reproduce", "retrain-on-pools/retrain"} <= set(deps)
        for stage, kind in STAGE_POOLS.items():
            dep = deps[f"stage/{stage}"]
            assert dep["pool"] == ("opc-cpu" if kind == "cpu" else "opc-gpu"), stage
            assert dep["parameters"]["stage"] == stage
            assert dep["parameters"]["overrides"][0] == "workdir=s3://bucket/run"  # {{ $OPC_WORKDIR }} filled in
            assert "uri: 's3://bucket/raw/gh'" in dep["parameters"]["overrides"][1]
            job = _render_job(state["pools"][dep["pool"]]["template"], dep["job_variables"])
            kubernetes_validate.validate(job, K8S_VERSION, strict=True)
            limits = job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
            assert limits.get("nvidia.com/gpu") == {"cpu": None, "gpu": 8, "gpu-vllm": 1}[kind], stage

        micro = yaml.safe_load(micro_recipe_path.read_text())
        micro.update(workdir=str(tmp_path / "work"), pipeline=["data"])
        recipe = tmp_path / "micro-data.yaml"
        recipe.write_text(yaml.safe_dump(micro))
        # the same "stage/<name>" deployments, served from a process (`make ui` does this) instead of a pool
        serving = subprocess.Popen([sys.executable, "-m", "flows.deployments", "--recipe", str(recipe)],
                                   env=client, cwd=REPO, stdout=open(logs / "serve.log", "w"),
                                   stderr=subprocess.STDOUT, start_new_session=True)
        waited = subprocess.run([sys.executable, "-c", WAIT_SERVED, "stage/data"], env=client, cwd=REPO,
                                capture_output=True, text=True, timeout=400)
        assert "SERVED" in waited.stdout, waited.stderr[-2000:] + (logs / "serve.log").read_text()[-3000:]
        proc = subprocess.run([sys.executable, "-c", DISPATCH, str(recipe)], env=client, cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        out = proc.stdout + proc.stderr
        assert "DONE " in out, out[-3000:] + (logs / "serve.log").read_text()[-3000:]
        done = json.loads(out.split("DONE ", 1)[1].splitlines()[0])
        assert [(d["stage"], d["deployment"], d["state"]) for d in done] == [("data", "stage/data", "COMPLETED")]
        assert list((tmp_path / "work" / "data").glob("*/_MANIFEST.json"))
        # retrain-on-pools: version 1 dispatches the data stage (a cache hit) and records it; with no new raw
        # data the next retrain dispatches nothing
        retrain1 = json.loads(out.split("RETRAIN1 ", 1)[1].splitlines()[0])
        assert [(d["stage"], d["state"]) for d in retrain1] == [("data", "COMPLETED")]
        assert json.loads(out.split("RETRAIN2 ", 1)[1].splitlines()[0]) == []
        versions = json.loads((tmp_path / "work" / "_versions" / f"{micro['name']}.json").read_text())["versions"]
        assert [(v["version"], sorted(v["outputs"])) for v in versions] == [(1, ["data"])]
    finally:
        if serving is not None:
            _stop(serving)
        _stop(server)


@pytest.mark.slow
def test_jobset_node_launcher_runs_pretraining_across_two_nodes(tmp_path, loopback_port):
    """node-launcher.sh as two nodes x two gloo ranks: node 0 runs the pretrain stage (upstream included),
    node 1 finds its job file on the shared volume and joins the c10d rendezvous; one run of world size 4
    ends in one complete stage output."""
    shared, work = tmp_path / "shared", tmp_path / "work"
    shared.mkdir()
    bin_dir = str(Path(sys.executable).parent)
    base = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "OPC_NNODES": "2",
            "OPC_PROCS_PER_NODE": "2", "OPC_RDZV_HOST": "127.0.0.1", "OPC_RDZV_PORT": str(loopback_port),
            "OPC_SHARED": str(shared), "OPC_RECIPE": str(REPO / "tests" / "recipes" / "micro.yaml"),
            "OPC_WORKDIR": str(work), "OPC_PYTHON": sys.executable, "OMP_NUM_THREADS": "1",
            "OPC_JOB_WAIT_S": "600"}
    launcher = str(K8S / "training" / "node-launcher.sh")
    logs = [open(tmp_path / f"node{i}.log", "w") for i in range(2)]
    nodes = [subprocess.Popen(["bash", launcher, *(["--upstream", "pretrain.max_steps=6"] if i == 0 else [])],
                              env={**base, "OPC_NODE_INDEX": str(i)}, cwd=REPO, stdout=logs[i],
                              stderr=subprocess.STDOUT, start_new_session=True) for i in range(2)]
    try:
        codes = [n.wait(timeout=900) for n in nodes]
    finally:
        for n in nodes:
            _stop(n)
    text = [(tmp_path / f"node{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], "\n".join(t[-3000:] for t in text)
    assert "joining 127.0.0.1:" in text[1]
    (out,) = [p.parent for p in (work / "pretrain").glob("*/_MANIFEST.json")]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 4 and summary["steps"] == 6


SPARK_CONF_PROBE = r"""
import json, sys
from opc_data.spark_engine import spark_session
spark = spark_session("local[1]")
conf = dict(spark.sparkContext.getConf().getAll())
print("CONF " + json.dumps({k: v for k, v in conf.items() if k.startswith(("spark.kubernetes.", "spark.executor.",
                                                                           "spark.master"))}))
spark.stop()
"""


@pytest.mark.slow
@pytest.mark.spark
def test_data_stage_spark_driver_reads_the_cluster_spark_defaults(tmp_path):
    """The flow-run pod sets SPARK_CONF_DIR to the opc-spark-conf ConfigMap: the data stage's own
    SparkSession (pip pyspark, client mode) picks up its Kubernetes settings, and the recipe's master wins."""
    conf = next(o for o in _render(K8S) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "opc-spark-conf")
    for name, text in conf["data"].items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "SPARK_CONF_DIR": str(tmp_path), "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.run([sys.executable, "-c", SPARK_CONF_PROBE], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert "CONF " in proc.stdout, proc.stderr[-3000:]
    got = json.loads(proc.stdout.split("CONF ", 1)[1].splitlines()[0])
    assert got["spark.master"] == "local[1]"
    assert got["spark.kubernetes.executor.podTemplateFile"] == "/etc/opc/spark/executor-pod-template.yaml"
    assert got["spark.kubernetes.namespace"] == "opc" and got["spark.executor.instances"] == "16"
