"""Imports run downwards only (docs/architecture.md): the machinery every trust system's
ceremony uses knows no trust system, and the floors below it know no ceremony.

Counted as in test_import_cycles: every `import` of a project module, at module level and inside
functions (a lazy import ties two files together all the same), not under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

from tests.test_import_cycles import project_graph

# The common machinery: session frame, tokens, signers, parameter tables, refusals; the
# workspace, key inventory and transcript; bundles and how they travel.
COMMON = ("ceremony.ceremonies", "ceremony.workspace", "ceremony.workspace_files",
          "ceremony.workspace_rules", "ceremony.workspace_systems", "ceremony.inventory",
          "ceremony.inventory_store", "ceremony.transcript", "transfer")
SYSTEMS = ("ceremony.notary", "ceremony.tuf", "ceremony.notation")
ABOVE = (*SYSTEMS, "ceremony.cli", "ceremony.scripts")  # only systems and commands know

# Honest exceptions: (importer, imported) -> why. None today; one added here must say why the
# common module cannot be given the small interface it needs instead.
EXCEPTIONS: dict[tuple[str, str], str] = {}

# The floors: PKCS#11 (hsm) and the ground floor know nothing of ceremonies, bundles or systems.
FLOORS = {"hsm": ("hsm", "groundfloor"), "groundfloor": ("groundfloor",)}


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import from a common module into a trust system, a command or a script, and each
    import from a floor into anything above it, as "importer -> imported"."""
    found = []
    for module, deps in sorted(graph.items()):
        if _in(module, COMMON):
            found += [f"{module} -> {d}" for d in sorted(deps)
                      if _in(d, ABOVE) and (module, d) not in EXCEPTIONS]
        for floor, allowed in FLOORS.items():
            if _in(module, (floor,)):
                found += [f"{module} -> {d}" for d in sorted(deps) if not _in(d, allowed)]
    return found


def test_checker_sees_an_upward_import():
    graph = {"ceremony.ceremonies.tokens": {"ceremony.notary.format.keys", "hsm.token"},
             "transfer.summary": {"ceremony.tuf.model"},
             "ceremony.workspace": {"ceremony.cli.common"},
             "hsm.token": {"ceremony.errors"},
             "groundfloor.files": {"hsm.errors"},
             "ceremony.notary.format.keys": {"ceremony.ceremonies.signers"}}
    assert upward_imports(graph) == [
        "ceremony.ceremonies.tokens -> ceremony.notary.format.keys",
        "ceremony.workspace -> ceremony.cli.common",
        "groundfloor.files -> hsm.errors",
        "hsm.token -> ceremony.errors",
        "transfer.summary -> ceremony.tuf.model",
    ]


def test_the_common_machinery_knows_no_trust_system():
    graph = project_graph()
    assert any(_in(m, ("ceremony.ceremonies",)) for m in graph)  # the checker sees the tree
    found = upward_imports(graph)
    assert not found, ("imports must run downwards (docs/architecture.md); give the common "
                       "module a small interface instead:\n  " + "\n  ".join(found))


def test_exceptions_are_still_needed():
    graph = project_graph()
    stale = [f"{a} -> {b}" for (a, b) in EXCEPTIONS if b not in graph.get(a, set())]
    assert not stale, "no longer imported, remove from EXCEPTIONS: " + ", ".join(stale)
