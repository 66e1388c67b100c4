"""Every size limit of the tool, in one place: what an input file, stream or document may be.

Each is checked BEFORE the bytes are read or parsed (groundfloor.files.read_limited and
read_stream_limited, groundfloor.jsonlimits.check_parse_cost). docs/hardening.md lists them
with the reason for each.
"""

from __future__ import annotations

KiB = 1024
MiB = 1024 * KiB

# Bundles: a request or response bundle, a file fed to a script check (bundles too) and the
# whole of one repository's metadata are read and parsed at once: 128 MiB each.
MAX_BUNDLE_BYTES = 128 * MiB
MAX_REQUEST_BYTES = MAX_BUNDLE_BYTES
MAX_RESPONSE_BYTES = MAX_BUNDLE_BYTES
MAX_SCRIPT_INPUT_BYTES = MAX_BUNDLE_BYTES
MAX_REPOSITORY_BYTES = MAX_BUNDLE_BYTES  # all metadata files of one repository together
MAX_METADATA_FILE_BYTES = 100 * MiB  # one metadata file of a repository folder
MAX_BUNDLE_FILE_BYTES = 16 * MiB  # one metadata file carried inside a bundle
MAX_QR_STREAM_CHARS = 128 * MiB  # characters of scanned QR text read from one stream
MAX_QR_LINE_CHARS = 16 * KiB  # one scanned line
MAX_QR_TRANSFER_BYTES = 16 * MiB  # no bundle larger than this is ever sent or accepted as frames

# Keys and certificates: a PEM public key, certificate, CSR or PKCS#8 key file is a few KiB.
MAX_PEM_BYTES = 64 * KiB
MAX_KEY_FILE_BYTES = MAX_PEM_BYTES
MAX_BUNDLE_KEY_BYTES = MAX_PEM_BYTES  # a public key carried inside a bundle

# Workspace and its records.
MAX_WORKSPACE_FILE_BYTES = 16 * MiB
MAX_TRANSCRIPT_BYTES = 64 * MiB  # verify reads the whole file
MAX_TRANSCRIPT_LINE = 4 * MiB
MAX_TUF_METADATA_BYTES = 100 * MiB  # one TUF metadata file
MAX_DESCRIPTORS_BYTES = 64 * MiB  # `notation resolve`'s list of up to 100,000 artifacts
MAX_MANIFEST_BYTES = 4 * MiB  # an OCI manifest from a registry (the distribution spec's limit)

# Small operator files.
MAX_PIN_FILE_BYTES = 1 * KiB  # a PIN and a newline; PKCS#11 tokens take at most a few hundred
MAX_PASSPHRASE_FILE_BYTES = 4 * KiB  # a key file's passphrase and a newline
MAX_GUNS_FROM_BYTES = 1 * MiB  # a list of repository names, one a line
MAX_SCRIPT_BYTES = 256 * KiB  # a ceremony script

# Parsing: what json.loads may build from one document (see groundfloor.jsonlimits).
MAX_PARSE_COST = 192 * MiB
