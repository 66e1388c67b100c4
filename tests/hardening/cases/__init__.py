"""The bad-input catalogue's rows, one module per area (tests/hardening/catalogue.py joins them).

- rows.py: what a row is (Case, Invocation, the good Inputs) and the helpers every area uses;
- transfer.py: bundles and QR frames (lines and images) -- any trust system's transport;
- common.py: transcripts and PKCS#11 URIs -- the machinery every ceremony runs on;
- notary.py: Notary v1 metadata, its PEM keys, GUNs, role names, durations and dates;
- notary_ceremonies.py: the Notary key ceremonies' requests, signer keys, names and durations;
- inputs.py: the good inputs the rows break, made once;
- run.py: running one row and checking everything it must (and must not) do.

The TUF 1.0 rows live with their test (tests/hardening/test_tuf_bad_input.py).
"""
