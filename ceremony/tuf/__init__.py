"""TUF 1.0 repositories (the specification's format, as python-tuf writes it).

Notary v1 is one dialect of TUF; this package is the other: its own byte format, model and
verification, sharing nothing with ceremony/notary/format (Notary's) but the token signer interface.

- canonical.py  -- the bytes: strict JSON reading, canonical JSON of `signed` (securesystemslib)
- keys.py       -- keys, key IDs, signatures (hex; ECDSA as DER), one key verifies one signature
- fields.py     -- what a valid field is (shared by the role models)
- model.py      -- the envelope and root/snapshot/timestamp; targets.py -- targets, delegations
- verify.py     -- the client workflow over a repository directory (root chain, thresholds,
                   rollback, freeze, snapshot/timestamp consistency, delegations)
- signing.py    -- token signatures over metadata made elsewhere and the review of a change
- signflow.py   -- one `tuf sign` run: check, review, confirm, sign on the tokens, write
- cli.py        -- `ceremony tuf verify|sign|key` (cli_online.py: request|apply;
                   cli_ceremonies.py: init|rotate-root|rotate-key|delegation|renew)
- bundles.py    -- what a TUF request/response bundle carries, read strictly
- state.py      -- the workspace's tuf section: root history, last signed versions
- online.py     -- the online side: a request from a metadata folder, a response applied
- plan.py, operations.py -- what each ceremony will sign, built before anyone is asked
- ceremonies.py -- the ceremonies inside the session frame (review, confirm, sign, respond)
"""
