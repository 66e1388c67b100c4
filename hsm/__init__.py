"""PKCS#11 tokens: modules, tokens, keys, signing. Knows nothing of TUF."""
