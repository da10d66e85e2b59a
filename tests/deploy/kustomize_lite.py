"""Render a Kustomize overlay in Python, for the tests: the `kustomize` binary is not on PyPI.

Only the subset of Kustomize that deploy/kubernetes/ uses is implemented, each piece as
Kustomize documents it; any other field of a kustomization.yaml is refused rather than ignored,
so an overlay cannot silently render differently here than under `kubectl kustomize`:

- `resources`: YAML files (several documents each) and folders holding a kustomization.yaml;
- `namespace`: set on every namespaced object (cluster-scoped kinds keep none);
- `images`: `name` → `newName` / `newTag` / `digest` in every pod template's containers;
- `patches`: JSON 6902 patches (`add`, `replace`, `remove`) from `path` or inline `patch`,
  applied to the objects a `target` selects (kind, name as an anchored regex, labelSelector).

Duplicate objects (same group, kind, namespace and name) are an error, as in Kustomize.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
}
POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}


class KustomizeError(ValueError):
    pass


def render(folder: Path) -> list[dict[str, Any]]:
    """Every object the kustomization in `folder` produces, transformed as Kustomize would."""
    folder = Path(folder)
    path = folder / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{folder}: no kustomization.yaml")
    spec = yaml.safe_load(path.read_text()) or {}
    unknown = set(spec) - SUPPORTED_KEYS
    if unknown:
        raise KustomizeError(f"{path}: fields this renderer does not implement: {sorted(unknown)}")
    if spec.get("kind", "Kustomization") != "Kustomization":
        raise KustomizeError(f"{path}: kind must be Kustomization")

    objects: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        target = (folder / entry).resolve()
        if target.is_dir():
            objects.extend(render(target))
        elif target.is_file():
            objects.extend(d for d in yaml.safe_load_all(target.read_text()) if d)
        else:
            raise KustomizeError(f"{path}: resource {entry} does not exist")

    if namespace := spec.get("namespace"):
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = namespace
    for image in spec.get("images", []):
        _set_image(objects, image)
    for patch in spec.get("patches", []):
        _apply_patch(folder, patch, objects)
    _check_unique(objects)
    return objects


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    node: Any = obj
    for key in POD_TEMPLATE_PATHS.get(obj["kind"], ()):
        node = node.get(key) if isinstance(node, dict) else None
    return node if obj["kind"] in POD_TEMPLATE_PATHS and isinstance(node, dict) else None


def _set_image(objects: list[dict[str, Any]], image: dict[str, Any]) -> None:
    for obj in objects:
        pod = _pod_spec(obj)
        if pod is None:
            continue
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            current = container["image"]
            name = re.split(r"[@]", current)[0]
            # A tag follows the last colon that is after the last slash (a port is before it).
            tag_at = name.rfind(":")
            if tag_at > name.rfind("/"):
                name = name[:tag_at]
            if name != image["name"]:
                continue
            new = image.get("newName", name)
            if "digest" in image:
                new += "@" + image["digest"]
            elif "newTag" in image:
                new += ":" + str(image["newTag"])
            elif current != name:
                new += current[len(name) :]
            container["image"] = new


def _selected(obj: dict[str, Any], target: dict[str, Any]) -> bool:
    meta = obj.get("metadata", {})
    if "kind" in target and obj["kind"] != target["kind"]:
        return False
    if "name" in target and not re.fullmatch(target["name"], meta.get("name", "")):
        return False
    if "namespace" in target and meta.get("namespace") != target["namespace"]:
        return False
    if "labelSelector" in target:
        labels = meta.get("labels", {})
        for clause in target["labelSelector"].split(","):
            key, _, value = clause.partition("=")
            if labels.get(key.strip()) != value.strip():
                return False
    unknown = set(target) - {"kind", "name", "namespace", "labelSelector", "group", "version"}
    if unknown:
        raise KustomizeError(f"patch target fields not implemented: {sorted(unknown)}")
    return True


def _apply_patch(folder: Path, patch: dict[str, Any], objects: list[dict[str, Any]]) -> None:
    text = (folder / patch["path"]).read_text() if "path" in patch else patch["patch"]
    ops = yaml.safe_load(text)
    if not isinstance(ops, list):
        raise KustomizeError(f"{folder}: only JSON 6902 patches are implemented ({patch})")
    target = patch.get("target")
    if not target:
        raise KustomizeError(f"{folder}: a JSON 6902 patch needs a target ({patch})")
    chosen = [obj for obj in objects if _selected(obj, target)]
    if not chosen:
        raise KustomizeError(f"{folder}: patch target {target} selects nothing")
    for obj in chosen:
        for op in ops:
            _json_patch(obj, op)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch(doc: dict[str, Any], op: dict[str, Any]) -> None:
    """RFC 6902 add / replace / remove."""
    *parents, last = _pointer(op["path"])
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    kind = op["op"]
    value = copy.deepcopy(op.get("value"))
    if isinstance(node, list):
        if kind == "add":
            node.insert(len(node) if last == "-" else int(last), value)
        elif kind == "replace":
            node[int(last)] = value
        elif kind == "remove":
            del node[int(last)]
        else:
            raise KustomizeError(f"JSON patch op {kind!r} not implemented")
        return
    if kind in ("replace", "remove") and last not in node:
        raise KustomizeError(f"JSON patch {kind} of a missing member {op['path']}")
    if kind in ("add", "replace"):
        node[last] = value
    elif kind == "remove":
        del node[last]
    else:
        raise KustomizeError(f"JSON patch op {kind!r} not implemented")


def _check_unique(objects: list[dict[str, Any]]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for obj in objects:
        meta = obj.get("metadata", {})
        key = (
            obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else "",
            obj["kind"],
            meta.get("namespace", ""),
            meta["name"],
        )
        if key in seen:
            raise KustomizeError(f"duplicate object {key}")
        seen.add(key)
