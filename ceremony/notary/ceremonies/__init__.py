"""Ceremonies: check a request against the workspace, build, review, confirm, sign, respond.

Modules (each one job):
- `request`    -- checks a request entry against the workspace (trust rule) -> RepoState;
- `build`      -- makes new metadata (roots, targets, delegation edits, snapshots);
- `signing`    -- thresholds, signers, signing, missing keys, partial state, merging
                  (the co-signing commands reuse it);
- `review`     -- old -> new diff of the exact signed content, digests as hex and words;
- `tokens`     -- the run's tokens: one login each, PIN sources, keys by public key;
- `runner`     -- the shared flow (`perform`) and the `Ceremony` / `Plan` types;
- `init`, `delegations`, `rotate` -- the ceremonies.

A new ceremony subclasses `runner.Ceremony`:

    class RenewCeremony(Ceremony):
        name = "renew"; operations = ("renew",)
        def select(self, request): ...                  # which GUNs of the request
        def check(self, run, entry): return check_existing(entry, run.ws, self.operations)
        def open_tokens(self, run): run.open_token(uri, "root") ...
        def preflight(self, run, states): [(gun, Threshold(...)), ...]  # before any keygen
        def prepare(self, run, states): ...              # generate/reuse keys, certificates
        def plan(self, run, state): return Plan(state, [FileToSign(...)], old={...}, ...)

    perform(RenewCeremony(...), Options(request=..., out=..., yes=True), console)

and `perform` does the rest: air gap, request digest, checks, preflight (missing keys refused
or --partial), review, confirmation, signing, response, one workspace transaction, transcript.

Import what you need from the module that defines it (runner, signing, errors...):
this package re-exports nothing, so importing one of its modules never loads the
whole engine.
"""
