"""The machinery every trust system's ceremony runs inside: the session frame (`session`), the
ceremony's tokens (`tokens`) and the refusals (`errors`). Notary's ceremonies are in
ceremony/notary/ceremonies/; notation's and TUF's in their own packages."""
