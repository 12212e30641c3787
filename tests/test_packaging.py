"""Package metadata: the pinned requirements lie within pyproject.toml's ranges, and the command exists."""
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    tomllib = pytest.importorskip("tomli")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirements(name: str) -> list[Requirement]:
    lines = (ROOT / name).read_text().splitlines()
    return [Requirement(line.split("  #")[0].strip()) for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("pins,ranges", [("requirements.txt", ()), ("requirements-dev.txt", ("dev", "ray"))])
def test_every_pin_lies_in_its_range(pins, ranges):
    """requirements.txt pins the dependencies; requirements-dev.txt the extras that CI tests."""
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    declared = [r for extra in ranges for r in extras[extra]] if ranges else project["dependencies"]
    declared = [Requirement(r) for r in declared]
    by_name = {canonicalize_name(r.name): r for r in declared}
    pinned = requirements(pins)
    assert {canonicalize_name(r.name) for r in pinned} == set(by_name), "the two lists name different packages"
    for pin in pinned:
        wanted = by_name[canonicalize_name(pin.name)]
        twins = [p for p in pinned if canonicalize_name(p.name) == canonicalize_name(pin.name)]
        if len(twins) == 1:
            assert str(pin.marker) == str(wanted.marker), pin.name
        else:  # one pin per range of Pythons (a package whose last release for Python 3.10 is older)
            for version in ("3.10", "3.11", "3.12", "3.13"):
                applies = [p for p in twins if p.marker.evaluate({"python_version": version})]
                assert len(applies) == 1, f"{pin.name}: {len(applies)} pins for Python {version}"
        if pin.marker is not None and not pin.marker.evaluate():
            continue  # e.g. tomli, for Pythons older than this one
        (spec,) = pin.specifier  # exactly one: ==version
        assert spec.operator == "==", f"{pin.name} is not pinned: {pin}"
        assert wanted.specifier.contains(spec.version), f"{pin.name}=={spec.version} is outside {wanted.specifier}"


def test_pins_are_what_is_installed():
    """The pins are the versions the tests run with here (so CI tests what the README installs)."""
    from importlib import metadata

    for pin in requirements("requirements.txt") + requirements("requirements-dev.txt"):
        if pin.marker is None or pin.marker.evaluate():
            assert metadata.version(pin.name) == next(iter(pin.specifier)).version, pin.name


def test_console_script_is_the_cli():
    module, _, function = pyproject()["project"]["scripts"]["fsrcnn"].partition(":")
    assert (module, function) == ("fsrcnn.cli", "main")
    from fsrcnn import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["--help"])
    assert stop.value.code == 0
