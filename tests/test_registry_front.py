"""``Registry`` is a front over collaborators: every public method of each is on the front, typed
and documented as the collaborator's own, and answered by the one the registry built."""

from __future__ import annotations

import inspect

import pytest

from ddas.registry import Registry
from ddas.registry.database import RegistryPart


def _parts() -> list[type[RegistryPart]]:
    import ddas.registry.front  # noqa: F401  (imports every collaborator)

    found: list[type[RegistryPart]] = []
    todo = list(RegistryPart.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("part", _parts(), ids=lambda cls: cls.__name__)
def test_every_public_method_of_a_collaborator_is_on_the_front(part) -> None:
    public = [n for n, f in vars(part).items() if inspect.isfunction(f) and n[0] != "_"]
    assert public, f"{part.__name__} holds no public method"
    for name in public:
        assert name in vars(Registry), f"Registry.{name} is missing: add it to the table"
        assert getattr(Registry, name) is vars(part)[name], f"Registry.{name} is another's"
        assert inspect.signature(getattr(Registry, name)) == inspect.signature(vars(part)[name])


def test_a_front_method_is_the_collaborators_bound_method(registry) -> None:
    bound = registry.copies_for_url
    assert bound.__self__ is registry._lookups and bound.__self__.db is registry.db
    assert bound.__doc__ == Registry.copies_for_url.__doc__ and "Copies of what" in bound.__doc__
    parts = {id(vars(registry)[n].db) for n in vars(registry) if n.startswith("_")}
    assert parts == {id(registry.db)}, "every collaborator shares the registry's one Database"
    assert registry.engine is registry.db.engine


def test_the_front_refuses_a_method_filed_under_another_name() -> None:
    from ddas.registry import _By
    from ddas.registry.leases import Leases

    with pytest.raises(TypeError, match=r"Registry\.beat would answer with Leases\.heartbeat"):
        _By("_leases", Leases.heartbeat).__set_name__(Registry, "beat")  # what `class` calls
