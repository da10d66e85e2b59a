"""The Kubernetes manifests (deploy/kubernetes), checked offline.

Each overlay is rendered by `kustomize_lite` (the subset of Kustomize the manifests use), every
object is validated against the API schemas of KUBERNETES_VERSION with `kubernetes-validate`
(strict: unknown fields are errors), and the properties the manifests promise are checked on
the rendered objects: hardened pods, probes, drains, secrets the apps read, exactly the network
paths the architecture needs, and a connection budget that the database servers can hold.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_files import compose_config
from kubernetes_validate import utils as kubernetes_validate
from kustomize_lite import KustomizeError, render

from contracts.settings import ContractsSettings
from funding.settings import FundingSettings
from gateway.settings import GatewaySettings
from registry.settings import RegistrySettings
from tdi_cli.jobs import batch_engine
from tdi_kit.settings import normalise_database_url

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
# The oldest Kubernetes the manifests are for (every API they use is GA there), and the newest
# whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
OVERLAYS = ("single-node", "production")
NAMESPACE = "territoires-industrie"
DB_NAMESPACE = "territoires-industrie-db"
SETTINGS = {
    "registry": RegistrySettings,
    "funding": FundingSettings,
    "contracts": ContractsSettings,
    "gateway": GatewaySettings,
    "webhooks": RegistrySettings,  # `tdi webhooks`: the registry's settings
}
SERVICES = ("registry", "funding", "contracts")
APPS = (*SERVICES, "gateway")
# Connections kept aside on every server: superuser_reserved_connections (PostgreSQL's default,
# 3) is counted apart; this is for people, backups, monitoring and the operator.
RESERVE = 10
# CloudNativePG's custom resources: no schema in kubernetes-validate; checked by the tests below.
CUSTOM_API_GROUPS = ("postgresql.cnpg.io/",)
# validate() reads the schema files again for every object (megabytes of JSON): read them once.
kubernetes_validate.schema_contents = functools.cache(kubernetes_validate.schema_contents)


@functools.cache
def rendered(folder: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(KUBE / folder))


def overlay(name: str) -> tuple[dict[str, Any], ...]:
    return rendered(f"overlays/{name}")


def find(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def workloads(objects: tuple[dict[str, Any], ...]) -> Iterator[dict[str, Any]]:
    return (o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job"))


def app_container(objects: tuple[dict[str, Any], ...], app: str) -> dict[str, Any]:
    (container,) = pod_spec(find(objects, "Deployment", app))["containers"]
    return container


def flag(command: list[str], name: str, default: int | None = None) -> int:
    if name in command:
        return int(command[command.index(name) + 1])
    assert default is not None, f"{name} missing from {command}"
    return default


# --- rendering and schemas ---------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(
    "folder", [*(f"overlays/{o}" for o in OVERLAYS), "optional/cloudnative-pg"]
)
def test_every_rendered_object_is_valid_for_the_kubernetes_api(folder: str, version: str) -> None:
    objects = rendered(folder)
    assert objects
    checked = 0
    for obj in objects:
        if obj["apiVersion"].startswith(CUSTOM_API_GROUPS):
            continue
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{folder}: {name} is not valid for Kubernetes {version}: {exc}")
        checked += 1
    assert checked >= 1


def test_the_schema_check_rejects_a_misspelt_field() -> None:
    """The validator is strict: a field Kubernetes does not know fails (not silently dropped)."""
    deployment = yaml.safe_load(
        yaml.safe_dump(find(overlay("production"), "Deployment", "funding"))
    )
    pod_spec(deployment)["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"
    )
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\ncommonLabels: {x: y}\n")
    with pytest.raises(KustomizeError, match="commonLabels"):
        render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [a.yaml]\npatches:\n  - target: {kind: ConfigMap, name: b}\n"
        "    patch: '[{op: remove, path: /data/k}]'\n"
    )
    with pytest.raises(KustomizeError, match="selects nothing"):
        render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml, a.yaml]\n")
    with pytest.raises(KustomizeError, match="duplicate"):
        render(tmp_path)


def test_overlays_set_the_image_namespace_and_patches() -> None:
    production = overlay("production")
    images = {c["image"] for w in workloads(production) for c in pod_spec(w)["containers"]}
    assert images == {"registry.example.org/territoires-industrie:0.1.0", "redis:7-alpine"}
    for name in OVERLAYS:
        namespaces = {
            o["metadata"].get("namespace") for o in overlay(name) if o["kind"] != "Namespace"
        }
        assert namespaces == {NAMESPACE}, name
    assert find(production, "HorizontalPodAutoscaler", "gateway")["spec"]["minReplicas"] == 3
    assert "host" not in find(overlay("single-node"), "Ingress", "gateway")["spec"]["rules"][0]


# --- pods --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_pod_is_non_root_read_only_and_bounded(name: str) -> None:
    for workload in workloads(overlay(name)):
        what = f"{workload['kind']}/{workload['metadata']['name']}"
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, what
        assert spec["securityContext"]["runAsUser"] != 0, what
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, what
        assert spec["automountServiceAccountToken"] is False, what
        # Service links would put REGISTRY_PORT=tcp://10.x.x.x:8001 (and GATEWAY_PORT, ...) in
        # every pod's environment, where the settings read it as their own port and fail.
        assert spec["enableServiceLinks"] is False, what
        for container in spec.get("initContainers", []) + spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, what
            assert security["readOnlyRootFilesystem"] is True, what
            assert security["capabilities"] == {"drop": ["ALL"]}, what
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) >= {"cpu", "memory"}, what
            if workload["kind"] != "Job":
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    assert probe in container, f"{what} has no {probe}"
            # Whatever the process writes goes to a volume, never to the image's layers.
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            if container["image"].split("/")[-1].startswith("territoires-industrie"):
                assert "/tmp" in mounts, what


@pytest.mark.parametrize("name", OVERLAYS)
def test_apps_probe_livez_and_readyz_on_their_own_port(name: str) -> None:
    objects = overlay(name)
    for app in APPS:
        container = app_container(objects, app)
        (port,) = container["ports"]
        assert port["containerPort"] == flag(container["command"], "--port")
        assert container["startupProbe"]["httpGet"]["path"] == "/livez"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] == port["name"]


def test_apps_and_jobs_run_what_compose_runs() -> None:
    """One image, the same commands and settings on one machine and on a cluster."""
    services = compose_config()["services"]
    objects = overlay("production")
    for app in APPS:
        container = app_container(objects, app)
        assert container["command"] == services[app]["command"]
        kube_env = {e["name"]: e["value"] for e in container["env"]}
        for key, value in services[app]["environment"].items():
            if key.endswith(("_DATABASE_URL", "_JWT_SECRET")):
                continue  # files from Kubernetes Secrets (next test)
            if key.endswith("_EVENTS_BROKER_URL"):
                continue  # compose's is empty unless set; a cluster's comes with its broker
            assert kube_env.get(key) == value, f"{app}: {key}"
    for service in SERVICES:
        (container,) = pod_spec(find(objects, "Job", f"{service}-migrate"))["containers"]
        assert container["command"] == services[f"{service}-migrate"]["command"]


def _secret_files(spec: dict[str, Any], container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """File name in /run/secrets → (Secret, key) for one container."""
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/run/secrets"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    return {
        item["path"]: (source["secret"]["name"], item["key"])
        for source in volume["projected"]["sources"]
        for item in source["secret"]["items"]
    }


def _file_value(secret: str, key: str) -> str:
    """What the test writes in a mounted file: its origin, padded past production's minimum
    secret length (32 bytes), so that the settings accept it as a real secret; a database URL
    naming its origin for the database keys (production refuses anything else)."""
    if key in ("url", "migrate-url"):
        return f"postgresql://{key}:pw@{secret}:5432/db"
    return f"{secret}/{key}".ljust(40, "#")


@pytest.mark.parametrize("name", OVERLAYS)
def test_secrets_are_files_the_apps_read_and_env_names_are_settings(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = overlay(name)
    pods = [(app, find(objects, "Deployment", app)) for app in APPS]
    pods += [(s, find(objects, "Job", f"{s}-migrate")) for s in SERVICES]
    for app, workload in pods:
        spec = pod_spec(workload)
        (container,) = spec["containers"]
        settings_class = SETTINGS[app]
        prefix = settings_class.model_config["env_prefix"]
        for env in container.get("env", []):
            assert env["name"].startswith(prefix), env
            assert env["name"][len(prefix) :].lower() in settings_class.model_fields, env
        files = _secret_files(spec, container)
        # Laid out as the kubelet writes a projected volume: links into a "..data" folder.
        folder = tmp_path / workload["metadata"]["name"]
        (folder / "..data").mkdir(parents=True)
        for file_name, (secret, key) in files.items():
            (folder / "..data" / file_name).write_text(_file_value(secret, key))
            (folder / file_name).symlink_to(Path("..data") / file_name)
        for env in container.get("env", []):
            monkeypatch.setenv(env["name"], env["value"])
        settings = settings_class(_secrets_dir=folder)
        if app != "gateway":
            expected = "migrate-url" if workload["kind"] == "Job" else "url"
            url = normalise_database_url(_file_value(f"{app}-database", expected))
            assert settings.database_url == url
        if workload["kind"] == "Deployment":
            assert settings.environment == "production"
            assert settings.jwt_secret.get_secret_value() == _file_value("tdi-jwt", "secret")
        for env in container.get("env", []):
            monkeypatch.delenv(env["name"])


def test_every_secret_the_manifests_need_is_documented() -> None:
    docs = (ROOT / "docs" / "operations.md").read_text()
    needed: set[tuple[str, str]] = set()
    for name in OVERLAYS:
        for workload in workloads(overlay(name)):
            spec = pod_spec(workload)
            for container in spec["containers"]:
                if any(m["mountPath"] == "/run/secrets" for m in container.get("volumeMounts", [])):
                    needed |= set(_secret_files(spec, container).values())
                for env in container.get("env", []):
                    if ref := env.get("valueFrom", {}).get("secretKeyRef"):
                        needed.add((ref["name"], ref["key"]))
    assert len(needed) >= 8
    for secret, key in sorted(needed):
        assert re.search(rf"{re.escape(secret)}\b.*--from-[a-z]+={re.escape(key)}=", docs), (
            f"docs/operations.md does not show how to create Secret {secret} key {key}"
        )


# --- shutdown ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OVERLAYS)
def test_termination_grace_outlasts_the_drain(name: str) -> None:
    budget = GatewaySettings().budget_seconds
    for app in APPS:
        deployment = find(overlay(name), "Deployment", app)
        container = app_container(overlay(name), app)
        drain = flag(container["command"], "--timeout-graceful-shutdown")
        # A request the gateway accepted just before SIGTERM has its whole budget to finish.
        assert drain > budget
        pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
        # preStop (endpoints forget the pod), the drain, then closing pools and clients.
        assert grace >= int(pre_stop[1]) + drain + 5, app
        strategy = deployment["spec"]["strategy"]["rollingUpdate"]
        assert strategy["maxUnavailable"] == 0, app


# --- scaling and disruption ----------------------------------------------------------------


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_app_scales_and_keeps_replicas_through_disruptions(name: str) -> None:
    objects = overlay(name)
    for app in APPS:
        deployment = find(objects, "Deployment", app)
        # The autoscaler owns the replica count: a fixed one would reset it on every apply.
        assert "replicas" not in deployment["spec"], app
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        hpa = find(objects, "HorizontalPodAutoscaler", app)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": app,
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        if name == "production":
            assert hpa["spec"]["minReplicas"] >= 2, app
        pdb = find(objects, "PodDisruptionBudget", app)
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), app
        assert pdb["spec"]["maxUnavailable"] == 1


def test_only_the_gateway_is_reachable_from_outside() -> None:
    for name in OVERLAYS:
        objects = overlay(name)
        ingresses = [o for o in objects if o["kind"] == "Ingress"]
        assert [i["metadata"]["name"] for i in ingresses] == ["gateway"]
        backends = set()
        for rule in ingresses[0]["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backends.add(path["backend"]["service"]["name"])
                assert not path["path"].startswith(("/metrics", "/livez", "/readyz"))
        assert backends == {"gateway"}
        for service in (o for o in objects if o["kind"] == "Service"):
            assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service


# --- network policies ----------------------------------------------------------------------


class Pod:
    def __init__(
        self,
        name: str,
        namespace: str,
        labels: dict[str, str],
        ports: set,
        address: str = "10.42.0.10",  # in the cluster's pod network
    ) -> None:
        self.name, self.namespace, self.labels, self.ports = name, namespace, labels, ports
        self.address = ipaddress.ip_address(address)

    @property
    def outside(self) -> bool:
        """Not a pod of the cluster: no pod or namespace selector names it."""
        return self.namespace == ""


def _pods(objects: tuple[dict[str, Any], ...], namespace: str) -> list[Pod]:
    pods = []
    for workload in workloads(objects):
        ports = {
            (p["containerPort"], p.get("protocol", "TCP"))
            for c in pod_spec(workload)["containers"]
            for p in c.get("ports", [])
        }
        labels = workload["spec"]["template"]["metadata"]["labels"]
        pods.append(Pod(workload["metadata"]["name"], namespace, labels, ports))
    return pods


def _world(name: str) -> list[Pod]:
    """The overlay's pods and the ones around them that the policies name."""
    pods = _pods(overlay(name), NAMESPACE)
    dns = {(53, "UDP"), (53, "TCP")}
    pods += [
        Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, dns),
        Pod("ingress-controller", "ingress-nginx", {"app": "ingress-nginx"}, {(443, "TCP")}),
        Pod("prometheus", "monitoring", {"app": "prometheus"}, {(9090, "TCP")}),
        # An events broker, where one is run (any namespace, labelled for the policies).
        Pod("broker", "messaging", {"tdi-broker": "true"}, {(4222, "TCP"), (5672, "TCP")}),
        # Beyond the cluster: a subscriber's receiver on the internet (IPv4 and IPv6), and what
        # the webhooks must never reach: the cloud's metadata service, a private network.
        Pod("receiver", "", {}, {(443, "TCP"), (80, "TCP")}, "93.184.215.14"),
        Pod("receiver-v6", "", {}, {(443, "TCP"), (80, "TCP")}, "2606:2800:21f::1"),
        Pod("metadata", "", {}, {(80, "TCP")}, "169.254.169.254"),
        Pod("private-network", "", {}, {(443, "TCP"), (80, "TCP")}, "192.168.1.20"),
        Pod("carrier-nat", "", {}, {(443, "TCP")}, "100.64.3.4"),
    ]
    if name == "production":
        for obj in rendered("optional/cloudnative-pg"):
            meta = obj["metadata"]
            if obj["kind"] == "Cluster":
                labels = {"cnpg.io/cluster": meta["name"], "cnpg.io/podRole": "instance"}
                pods.append(Pod(meta["name"], DB_NAMESPACE, labels, {(5432, "TCP"), (8000, "TCP")}))
            elif obj["kind"] == "Pooler":
                labels = {
                    "cnpg.io/poolerName": meta["name"],
                    "cnpg.io/cluster": obj["spec"]["cluster"]["name"],
                    "cnpg.io/podRole": "pooler",
                }
                pods.append(Pod(meta["name"], DB_NAMESPACE, labels, {(5432, "TCP")}))
    return pods


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _peer(peer: dict[str, Any], policy_namespace: str, pod: Pod) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        network = ipaddress.ip_network(block["cidr"])
        if pod.address.version != network.version or pod.address not in network:
            return False
        return not any(pod.address in ipaddress.ip_network(e) for e in block.get("except", []))
    if pod.outside:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": pod.namespace}
        if not _matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return _matches(peer.get("podSelector", {}), pod.labels)


def _ports(rule: dict[str, Any], port: tuple[int, str]) -> bool:
    if not rule.get("ports"):
        return True
    return any((p["port"], p.get("protocol", "TCP")) == port for p in rule["ports"])


def _allowed(policies: list[dict[str, Any]], src: Pod, dst: Pod, port: tuple[int, str]) -> bool:
    """NetworkPolicy semantics: both the sender's egress and the receiver's ingress allow it."""

    def side(pod: Pod, kind: str, key: str, other: Pod) -> bool:
        selecting = [
            p
            for p in policies
            if p["metadata"]["namespace"] == pod.namespace
            and _matches(p["spec"]["podSelector"], pod.labels)
            and kind in p["spec"].get("policyTypes", ["Ingress"])
        ]
        if not selecting:
            return True  # no policy isolates this pod in this direction
        return any(
            _ports(rule, port)
            and (
                not rule.get(key)
                or any(_peer(x, p["metadata"]["namespace"], other) for x in rule[key])
            )
            for p in selecting
            for rule in p["spec"].get(kind.lower(), [])
        )

    return side(src, "Egress", "to", dst) and side(dst, "Ingress", "from", src)


def _expected_paths(name: str, world: list[Pod]) -> set[tuple[str, str, int]]:
    """The paths the architecture needs, no more: derived from compose's URLs, not restated."""
    services = compose_config()["services"]
    calls = set()
    for app in (*APPS, "webhooks"):
        for value in services[app]["environment"].values():
            urls = [str(value)]
            if str(value).startswith("{"):  # the dispatcher's feeds: a JSON object of URLs
                urls = [str(v) for v in json.loads(value).values()]
            for url in urls:
                if m := re.fullmatch(r"(?:http|redis)://(\w+):(\d+)(?:/\d+)?", url):
                    calls.add((app, m[1], int(m[2])))
    # Every service relays its events, and the dispatcher reads them, from a broker when one is
    # configured (EVENTS_BROKER_URL: NATS or RabbitMQ).
    for app in (*SERVICES, "webhooks"):
        assert "events_broker_url" in SETTINGS[app].model_fields
        calls |= {(app, "broker", 4222), (app, "broker", 5672)}
    # The dispatcher's receivers: http(s) URLs on the internet (the registry refuses others).
    calls |= {
        ("webhooks", receiver, port)
        for receiver in ("receiver", "receiver-v6")
        for port in (443, 80)
    }
    ports = {app: flag(app_container(overlay(name), app)["command"], "--port") for app in APPS}
    paths = set(calls)
    paths.add(("ingress-controller", "gateway", ports["gateway"]))
    paths |= {("prometheus", app, ports[app]) for app in APPS}
    paths |= {(p.name, "kube-dns", 53) for p in world if p.namespace == NAMESPACE}
    for service in SERVICES:
        if name == "single-node":
            paths |= {(service, "postgres", 5432), (f"{service}-migrate", "postgres", 5432)}
        else:
            paths.add((service, f"{service}-pooler-rw", 5432))
            paths.add((f"{service}-migrate", f"{service}-db", 5432))
    # The dispatcher works in the registry's database, as the registry does.
    paths.add(("webhooks", "postgres" if name == "single-node" else "registry-pooler-rw", 5432))
    return paths


@pytest.mark.parametrize("name", OVERLAYS)
def test_network_policies_allow_exactly_the_paths_the_suite_needs(name: str) -> None:
    policies = [o for o in overlay(name) if o["kind"] == "NetworkPolicy"]
    default_deny = find(overlay(name), "NetworkPolicy", "default-deny")["spec"]
    assert default_deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    world = _world(name)
    allowed = {
        (src.name, dst.name, port[0])
        for src in world
        for dst in world
        for port in dst.ports
        if src is not dst
        and NAMESPACE in (src.namespace, dst.namespace)
        and _allowed(policies, src, dst, port)
    }
    expected = _expected_paths(name, world)
    assert allowed - expected == set(), "paths allowed that nothing needs"
    assert expected - allowed == set(), "paths the suite needs that are denied"


def test_the_network_policy_evaluator_denies_without_a_rule() -> None:
    """The evaluator itself: dropping the gateway's egress rule to funding cuts that path."""
    policies = [
        yaml.safe_load(yaml.safe_dump(o))
        for o in overlay("single-node")
        if o["kind"] == "NetworkPolicy"
    ]
    world = {p.name: p for p in _world("single-node")}
    gateway = next(p for p in policies if p["metadata"]["name"] == "gateway")
    assert _allowed(policies, world["gateway"], world["funding"], (8002, "TCP"))
    gateway["spec"]["egress"] = [
        r
        for r in gateway["spec"]["egress"]
        if r["to"][0]["podSelector"]["matchLabels"] != {"app.kubernetes.io/name": "funding"}
    ]
    assert not _allowed(policies, world["gateway"], world["funding"], (8002, "TCP"))
    assert _allowed(policies, world["gateway"], world["registry"], (8001, "TCP"))


# --- databases -----------------------------------------------------------------------------


def _job_connections() -> int:
    """The most connections a migrate Job's engine opens (tdi_cli.jobs.batch_engine)."""
    settings = RegistrySettings(database_url="postgresql://budget@127.0.0.1:5432/budget")
    engine = batch_engine(settings)
    try:
        return engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
    finally:
        engine.sync_engine.dispose()


def _settings_of(objects: tuple[dict[str, Any], ...], service: str, monkeypatch) -> Any:
    """A service's settings as its Deployment's environment makes them."""
    container = app_container(objects, service)
    prefix = SETTINGS[service].model_config["env_prefix"]
    with monkeypatch.context() as env:
        for variable in container.get("env", []):
            env.setenv(variable["name"], variable["value"])
        # The JWT secret and the URL are files in production; any value other than the
        # development secret will do.
        env.setenv(prefix + "JWT_SECRET", "budget" * 8)
        env.setenv(prefix + "DATABASE_URL", "postgresql://app@postgres:5432/db")
        return SETTINGS[service]()


def _per_process(objects: tuple[dict[str, Any], ...], service: str, monkeypatch) -> int:
    """One app process: its whole budget (engine, row reader and key locks together)."""
    settings = _settings_of(objects, service, monkeypatch)
    budget = settings.connection_budget
    parts = (
        budget.engine_pool
        + budget.engine_overflow
        + budget.read_pool
        + budget.read_overflow
        + budget.reader
        + budget.locks
    )
    assert parts == budget.total == settings.database_max_connections
    return budget.total


def _pods_at_most(objects: tuple[dict[str, Any], ...], app: str) -> int:
    """The autoscaler's ceiling plus the rolling update's surge."""
    surge = find(objects, "Deployment", app)["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    return find(objects, "HorizontalPodAutoscaler", app)["spec"]["maxReplicas"] + surge


def _webhooks_connections(objects: tuple[dict[str, Any], ...]) -> int:
    """The webhooks Deployment's connections to the registry's database: its pods at most
    (replicas and the surge) times what `tdi webhooks` opens (pool and overflow)."""
    import inspect

    from tdi_cli import webhooks

    deployment = find(objects, "Deployment", "webhooks")
    pods = (
        deployment["spec"]["replicas"] + deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    )
    source = inspect.getsource(webhooks._run)
    assert "pool_size=max(2, settings.webhook_concurrency // 4)" in source
    assert "max_overflow=2" in source
    concurrency = RegistrySettings.model_fields["webhook_concurrency"].default
    return int(pods * (max(2, concurrency // 4) + 2))


def _workers(objects: tuple[dict[str, Any], ...], app: str) -> int:
    return flag(app_container(objects, app)["command"], "--workers", default=1)


def _postgres_setting(args: list[str], name: str, default: int) -> int:
    for value in args:
        if value.startswith(f"{name}="):
            return int(value.split("=", 1)[1])
    return default


def test_connection_budget_fits_the_single_node_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """replicas x workers x per-process budget (+ the jobs) <= max_connections - reserve."""
    objects = overlay("single-node")
    (postgres,) = pod_spec(find(objects, "StatefulSet", "postgres"))["containers"]
    max_connections = _postgres_setting(postgres["args"], "max_connections", 100)
    reserved = _postgres_setting(postgres["args"], "superuser_reserved_connections", 3)
    demand = sum(
        _pods_at_most(objects, s) * _workers(objects, s) * _per_process(objects, s, monkeypatch)
        + _job_connections()
        for s in SERVICES
    )
    demand += _webhooks_connections(objects)
    assert demand <= max_connections - reserved - RESERVE, (demand, max_connections)


def test_connection_budget_fits_each_cloudnative_pg_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    objects = overlay("production")
    databases = rendered("optional/cloudnative-pg")
    for service in SERVICES:
        cluster = find(databases, "Cluster", f"{service}-db")
        pooler = find(databases, "Pooler", f"{service}-pooler-rw")
        bouncer = pooler["spec"]["pgbouncer"]
        assert bouncer["poolMode"] == "transaction"
        assert pooler["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        parameters = cluster["spec"]["postgresql"]["parameters"]
        max_connections = int(parameters.get("max_connections", 100))
        reserved = int(parameters.get("superuser_reserved_connections", 3))
        # Clients: every app process, each against one PgBouncer at worst.
        clients = (
            _pods_at_most(objects, service)
            * _workers(objects, service)
            * _per_process(objects, service, monkeypatch)
        )
        if service == "registry":  # the dispatcher goes through the registry's pooler too
            clients += _webhooks_connections(objects)
        assert clients <= int(bouncer["parameters"]["max_client_conn"]), service
        # Server: what the poolers open, plus the migrate Job straight to the primary.
        server = int(bouncer["parameters"]["default_pool_size"]) * pooler["spec"]["instances"]
        server += _job_connections()
        assert server <= max_connections - reserved - RESERVE, (service, server)


def test_the_single_node_database_is_created_as_compose_creates_it() -> None:
    config_map = find(overlay("single-node"), "ConfigMap", "postgres-init")
    script = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    assert config_map["data"] == {"10-databases.sh": script}
    (postgres,) = pod_spec(find(overlay("single-node"), "StatefulSet", "postgres"))["containers"]
    passwords = {e["name"] for e in postgres["env"] if "valueFrom" in e}
    assert passwords == set(re.findall(r"\$(\w+_PASSWORD)", script)) | {"POSTGRES_PASSWORD"}


def test_the_jobs_reach_the_primary_and_the_services_the_pooler() -> None:
    """Transaction pooling keeps no session: DDL and advisory locks go straight to PostgreSQL."""
    objects = overlay("production")
    for service in SERVICES:
        job_policy = find(objects, "NetworkPolicy", f"{service}-migrate")
        (peer,) = job_policy["spec"]["egress"][0]["to"]
        assert peer["podSelector"]["matchLabels"]["cnpg.io/podRole"] == "instance"
        app_policy = find(objects, "NetworkPolicy", service)
        peers = [p for r in app_policy["spec"]["egress"] for p in r["to"]]
        assert {"cnpg.io/poolerName": f"{service}-pooler-rw"} in [
            p["podSelector"]["matchLabels"] for p in peers
        ]


def test_commands_are_shell_free() -> None:
    """Exec-form commands only: no shell in the way of SIGTERM reaching uvicorn."""
    for name in OVERLAYS:
        for workload in workloads(overlay(name)):
            for container in pod_spec(workload)["containers"]:
                command = container.get("command", [])
                assert command[:1] not in (["sh"], ["/bin/sh"], ["bash"]), shlex.join(command)


def test_behind_pgbouncer_the_services_turn_asyncpgs_statement_cache_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Transaction pooling: a named prepared statement must not outlive its transaction."""
    objects = overlay("production")
    for service in SERVICES:
        settings = _settings_of(objects, service, monkeypatch)
        assert settings.database_statement_cache_size == 0, service
    # Straight to PostgreSQL (single node), asyncpg keeps its cache.
    single = overlay("single-node")
    assert _settings_of(single, "registry", monkeypatch).database_statement_cache_size is None


# --- the webhooks dispatcher ---------------------------------------------------------------


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_webhooks_deployment_runs_what_compose_runs_two_replicas_sharing(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = overlay(name)
    compose = compose_config()["services"]["webhooks"]
    deployment = find(objects, "Deployment", "webhooks")
    # Two, fixed: leases share the due deliveries, a broker's consumer the events.
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert not [
        o
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == "webhooks"
    ]
    pdb = find(objects, "PodDisruptionBudget", "webhooks")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert find(objects, "NetworkPolicy", "webhooks")["spec"]["ingress"] == []  # serves nothing
    registry_env = {e["name"]: e["value"] for e in app_container(objects, "registry")["env"]}
    assert registry_env["REGISTRY_WEBHOOKS_DISPATCHER"] == "external"

    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    assert container["command"] == compose["command"]
    heartbeat = container["command"][container["command"].index("--heartbeat") + 1]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert heartbeat in " ".join(container[probe]["exec"]["command"]), probe
    kube_env = {e["name"]: e["value"] for e in container["env"]}
    for key, value in compose["environment"].items():
        if not key.endswith(("_DATABASE_URL", "_JWT_SECRET", "_EVENTS_BROKER_URL")):
            assert kube_env.get(key) == value, key
    assert set(kube_env) <= {f"REGISTRY_{k.upper()}" for k in RegistrySettings.model_fields}

    # Its secrets are the registry's service role's database URL and the JWT secret (to mint
    # the tokens it reads the feeds with), as files the settings read.
    files = _secret_files(spec, container)
    assert files == {
        "REGISTRY_DATABASE_URL": ("registry-database", "url"),
        "REGISTRY_JWT_SECRET": ("tdi-jwt", "secret"),
    }
    (tmp_path / "..data").mkdir()
    for file_name, (secret, key) in files.items():
        (tmp_path / "..data" / file_name).write_text(_file_value(secret, key))
        (tmp_path / file_name).symlink_to(Path("..data") / file_name)
    for key, value in kube_env.items():
        monkeypatch.setenv(key, value)
    settings = RegistrySettings(_secrets_dir=tmp_path)
    assert settings.environment == "production"
    assert settings.webhooks_dispatcher == "external"
    assert settings.database_url == normalise_database_url(_file_value("registry-database", "url"))
    # An attempt in flight ends within its time limit before the pod is killed.
    assert spec["terminationGracePeriodSeconds"] >= settings.webhook_timeout_seconds + 5


def test_the_webhooks_reach_public_addresses_only_on_http_ports() -> None:
    """The evaluator's ipBlock, and the rule itself: no private, link-local or CGNAT range."""
    policies = [o for o in overlay("production") if o["kind"] == "NetworkPolicy"]
    world = {p.name: p for p in _world("production")}
    webhooks = world["webhooks"]
    assert _allowed(policies, webhooks, world["receiver"], (443, "TCP"))
    assert _allowed(policies, webhooks, world["receiver-v6"], (80, "TCP"))
    assert not _allowed(policies, webhooks, world["receiver"], (22, "TCP"))
    for internal in ("metadata", "private-network", "carrier-nat"):
        assert not _allowed(policies, webhooks, world[internal], (443, "TCP")), internal
        assert not _allowed(policies, webhooks, world[internal], (80, "TCP")), internal
    for app in APPS:  # the others reach nothing outside
        assert not _allowed(policies, world[app], world["receiver"], (443, "TCP")), app
