"""The machinery every trust system's ceremony runs inside: the session frame (`session`), the
ceremony's tokens (`tokens`) and the signers found on them by public key (`signers`), the
parameter tables (`params`, `durations`) and the refusals (`errors`). It imports no trust
system (tests/test_layers.py). Notary's ceremonies are in ceremony/notary/ceremonies/;
notation's and TUF's in their own packages."""
