"""Notary Project (Notary v2, `notation`) support: an X.509 CA on tokens, signing certificates
issued from CSRs, CRLs, notation trust material, JWS and COSE signature envelopes for OCI
descriptors, and their offline verification.

Offline modules (never open a socket): errors, keyspec, certs, csrpolicy, crl, castate,
truststore, payload, jws, cose, verify, files. The online side (an OCI registry) lives in
`registry` alone and is imported only by the online CLI commands.
"""
