"""Notary Project (Notary v2, `notation`) support: an X.509 CA on tokens, signing certificates
issued from CSRs, CRLs, notation trust material, JWS and COSE signature envelopes for OCI
descriptors, and their offline verification.

Offline modules (never open a socket): errors, keyspec (key specs, token and software
signing keys), certs (CA and signing certificates, CSRs), rules (the certificate rules), crl,
castate (a CA folder), truststore, payload, jws, cose, verify, review, files; the CLI in cli
and sign_cli. The online side (an OCI registry) lives in `registry` alone and is imported
only inside the online commands (resolve, attach).
"""
