"""`ceremony init`, `signer add|remove`, `delegation add|remove`, `rotate targets`.

Thin: each command's arguments and options come from its ceremony's parameter table (the
PARAMS beside each ceremony in ceremony/ceremonies/, ceremonies/params.py), which also builds
the Ceremony that `perform` runs. Every command takes the common options (`ceremony_options`);
the review goes to standard output (to standard error with --json, whose document alone is on
standard output); the confirmation is `yes` typed on standard input, or --yes. See
docs/ceremonies.md.
"""

from __future__ import annotations

import click

from ceremony.cli.common import ceremony_command
from ceremony.notary.ceremonies import delegations
from ceremony.notary.ceremonies import init as init_ceremony
from ceremony.notary.ceremonies import rotate as rotate_ceremony
from ceremony.notary.cli.rotateroot import rotate_root

# --- init -------------------------------------------------------------------------------------

init = ceremony_command(init_ceremony.PARAMS, """Start repositories: root keys (M of N tokens)
    and a targets key on tokens, root.json v1 and targets.json v1 for every GUN of the request
    (or the GUNs named).""")


# --- signers and delegations -------------------------------------------------------------------

@click.group()
def signer() -> None:
    """Signers as `docker trust signer` manages them (targets/NAME and targets/releases)."""


@click.group()
def delegation() -> None:
    """Delegations of targets.json: keys, paths, threshold."""


for _group, _kind, _summary in (
        (signer, "signer-add", "Add signer NAME to GUN: its keys go into targets/NAME and "
                               "targets/releases."),
        (signer, "signer-remove", "Remove signer NAME from GUN: its keys leave targets/releases, "
                                  "targets/NAME goes."),
        (delegation, "delegation-add", "Create delegation ROLE (targets/NAME) of GUN, or add "
                                       "keys, paths or a threshold."),
        (delegation, "delegation-remove", "Remove delegation ROLE of GUN, or only some of its "
                                          "keys or paths.")):
    _group.add_command(ceremony_command(delegations.PARAMS[_kind], _summary,
                                        _kind.partition("-")[2]))


# --- rotations ---------------------------------------------------------------------------------

@click.group()
def rotate() -> None:
    """Key rotations."""


rotate.add_command(ceremony_command(rotate_ceremony.PARAMS, """Replace the targets key of
    GUN(s): new key on the token, root v+1 signed by the root threshold, targets re-signed, old
    key retired.""", "targets"))
rotate.add_command(rotate_root)  # root rotation: its own module
