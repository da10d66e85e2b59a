"""Alert rules and dashboards (deploy/monitoring), checked offline.

promtool is not on PyPI (Debian's `prometheus` package ships it, 96 MB installed, with a
service): the rule files are checked here as `promtool check rules` checks them (the file's
shape, names, durations, templates) with every expression parsed by `promql-parser` (Python
bindings of the Rust PromQL parser); on top, every metric and label a rule or panel names must
exist: the suite's metrics are read from the kit's own collectors, the others are listed below
with the component that exposes them.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from deploy_files import ROOT

from gateway.metrics import GatewayMetrics

MONITORING = ROOT / "deploy" / "monitoring"
RULE_FILES = sorted((MONITORING / "prometheus").glob("*.rules.yml"))
DASHBOARDS = sorted((MONITORING / "grafana").glob("*.json"))
# Series that are not the suite's, with their labels; rules on them are in groups of their own.
EXTERNAL = {
    # Prometheus, for every target of the scrape job in deploy/monitoring/prometheus.
    "up": {"job", "instance", "app", "namespace", "pod"},
    # kube-state-metrics.
    "kube_pod_status_ready": {"namespace", "pod", "condition", "uid"},
    "kube_deployment_status_replicas_available": {"namespace", "deployment"},
    "kube_job_status_failed": {"namespace", "job_name", "reason"},
    "kube_horizontalpodautoscaler_status_current_replicas": {
        "namespace",
        "horizontalpodautoscaler",
    },
    "kube_horizontalpodautoscaler_spec_max_replicas": {"namespace", "horizontalpodautoscaler"},
    "kube_pod_container_status_restarts_total": {"namespace", "pod", "container", "uid"},
}
TARGET_LABELS = {"job", "instance", "app", "namespace", "pod"}
SEVERITIES = {"critical", "warning", "info"}
DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
GROUP_KEYS = {"name", "interval", "limit", "rules", "query_offset", "labels"}
ALERT_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
RECORD_KEYS = {"record", "expr", "labels"}


@functools.cache
def suite_metrics() -> dict[str, set[str]]:
    """Every series name the apps expose, with its labels, as their collectors declare them:
    the kit's (every app) and the gateway's own, which extend them."""
    found = GatewayMetrics("probe").series()
    return {name: labels | TARGET_LABELS for name, labels in found.items()}


def test_the_declared_series_are_those_the_registry_exposes() -> None:
    """`series()` is what the checks trust: it must match what a scrape shows."""
    metrics = GatewayMetrics("probe")
    metrics.record("GET", "/probe", 200, 0.01)
    metrics.call("registry", "ok", 0.01)
    metrics.breaker("registry", "open")
    metrics.upstream_state("registry", "down")
    metrics.rate_limited.labels("probe", "token").inc()
    metrics.rate_limit_store_errors.labels("probe").inc()
    metrics.idempotency_outcome("replayed")
    metrics.rows("ledger_entries", "commitment", 1)
    metrics.pool("engine", size=1, checked_out=0, overflow=0)
    metrics.events_published(1)
    metrics.events_relay_error("publish")
    metrics.events_backlog(3, 12.5)
    metrics.sample()
    exposed: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                exposed.setdefault(sample.name, set()).update(sample.labels)
    assert exposed == metrics.series()


def rule_files() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, yaml.safe_load(path.read_text())) for path in RULE_FILES]


def recorded() -> dict[str, set[str]]:
    """Series that the recording rules produce, with the labels their aggregation keeps."""
    found = {}
    for _, doc in rule_files():
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    kept = _kept_labels(promql_parser.parse(rule["expr"]))
                    found[rule["record"]] = kept or set()
    return found


def _kept_labels(expr: Any) -> set[str] | None:
    """The labels an expression's result keeps when an aggregation decides (None: the series')."""
    if isinstance(expr, promql_parser.AggregateExpr):
        if expr.modifier is None:
            return set()
        if expr.modifier.type == promql_parser.AggModifierType.By:
            return set(expr.modifier.labels)
        return None
    if isinstance(expr, promql_parser.Call):
        for arg in expr.args:
            if (kept := _kept_labels(arg)) is not None:
                return kept
        return None
    if isinstance(expr, promql_parser.BinaryExpr):
        return _kept_labels(expr.lhs)
    if isinstance(expr, promql_parser.ParenExpr):
        return _kept_labels(expr.expr)
    return None


def selectors(expr: Any) -> list[tuple[str, set[str]]]:
    """(metric, label names it matches on) for every series an expression reads."""
    found: list[tuple[str, set[str]]] = []
    grouping: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            labels = {m.name for m in node.matchers.matchers} if node.matchers else set()
            found.append((node.name, labels))
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            grouping.update(node.modifier.labels)
        return True

    promql_parser.walk(expr, visit)
    return [(name, labels | grouping) for name, labels in found]


def check_known(expr_text: str, known: dict[str, set[str]], where: str) -> None:
    expr = promql_parser.parse(expr_text)
    reads = selectors(expr)
    assert reads, f"{where}: reads no series"
    for name, labels in reads:
        assert name in known, f"{where}: no metric {name!r} exists"
        unknown = labels - known[name] - {"le", "__name__"}
        assert not unknown, f"{where}: {name} has no label {sorted(unknown)}"


def test_rule_files_exist() -> None:
    assert [p.name for p in RULE_FILES] == ["territoires-industrie.rules.yml"]


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_is_what_promtool_accepts(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert set(doc) == {"groups"}
    names = [g["name"] for g in doc["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    for group in doc["groups"]:
        assert set(group) <= GROUP_KEYS, group["name"]
        assert group["rules"], group["name"]
        if "interval" in group:
            assert DURATION.match(group["interval"])
        for rule in group["rules"]:
            where = f"{group['name']}/{rule.get('alert') or rule.get('record')}"
            assert ("alert" in rule) != ("record" in rule), where
            if "record" in rule:
                assert set(rule) <= RECORD_KEYS, where
                assert METRIC_NAME.match(rule["record"]), where
            else:
                assert set(rule) <= ALERT_KEYS, where
                assert re.fullmatch(r"Tdi[A-Z][A-Za-z]+", rule["alert"]), where
                for key in ("for", "keep_firing_for"):
                    if key in rule:
                        assert DURATION.match(rule[key]) and rule[key], where
                assert rule["labels"]["severity"] in SEVERITIES, where
                assert {"summary", "description"} <= set(rule["annotations"]), where
                for text in rule["annotations"].values():
                    _check_template(text, rule["expr"], where)
            for label in rule.get("labels", {}):
                assert LABEL_NAME.match(label) and not label.startswith("__"), where
            try:
                promql_parser.parse(rule["expr"])
            except ValueError as exc:
                pytest.fail(f"{where}: {exc}")


def _check_template(text: str, expr_text: str, where: str) -> None:
    """Go templates as alertmanager fills them: balanced, and only labels the alert has."""
    assert text.count("{{") == text.count("}}"), where
    expr = promql_parser.parse(expr_text)
    available = _kept_labels(expr)
    if available is None:  # no aggregation decides: the labels of the series it reads
        known = {**suite_metrics(), **recorded(), **EXTERNAL}
        available = set().union(*(known.get(name, set()) for name, _ in selectors(expr)))
    for label in re.findall(r"\$labels\.(\w+)", text):
        assert label in available, f"{where}: the alert has no label {label!r}"
    for function in re.findall(r"\|\s*(\w+)", text):
        assert function in {
            "humanize",
            "humanize1024",
            "humanizePercentage",
            "humanizeDuration",
            "printf",
        }


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_rule_reads_metrics_that_exist(path: Path) -> None:
    known = {**suite_metrics(), **EXTERNAL, **recorded()}
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            where = f"{group['name']}/{rule.get('alert') or rule.get('record')}"
            check_known(rule["expr"], known, where)
            names = {name for name, _ in selectors(promql_parser.parse(rule["expr"]))}
            # Platform metrics only in their own groups, so the suite's rules stand alone.
            if group["name"] in ("territoires-industrie.recording", "territoires-industrie.http"):
                assert not names & EXTERNAL.keys(), where


def test_the_checks_catch_a_misspelt_metric_label_or_query() -> None:
    known = {**suite_metrics(), **EXTERNAL}
    with pytest.raises(AssertionError, match="no metric"):
        check_known("rate(http_request_total[5m])", known, "typo")
    with pytest.raises(AssertionError, match="no label"):
        check_known('rate(http_requests_total{code="500"}[5m])', known, "typo")
    with pytest.raises(AssertionError, match="no label"):
        check_known("sum by (endpoint) (rate(http_requests_total[5m]))", known, "typo")
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(http_requests_total[5m])")
    with pytest.raises(AssertionError, match="no label"):
        _check_template("{{ $labels.route }}", "sum by (service) (up)", "template")


def _grafana_to_promql(expr: str) -> str:
    """Grafana's variables, replaced by what they stand for at query time."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    return re.sub(r"\$\{?(\w+)\}?", ".*", expr)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_grafana_json_whose_queries_name_existing_metrics(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    known = {**suite_metrics(), **EXTERNAL, **recorded()}
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    queries = 0
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"].strip("${}") in variables
        for target in panel["targets"]:
            for used in re.findall(r"\$\{?(\w+)\}?", target["expr"]):
                assert used.startswith("__") or used in variables, f"{panel['title']}: ${used}"
            check_known(_grafana_to_promql(target["expr"]), known, panel["title"])
            queries += 1
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            metric, label = re.fullmatch(
                r"label_values\((\w+), *(\w+)\)", variable["query"]["query"]
            ).groups()
            assert label in known[metric]
    assert queries >= 8
