//go:build tools

// Pins olareg (a small OCI distribution 1.1 registry with the referrers API) for the
// notation tests; scripts/bootstrap builds its own command, github.com/olareg/olareg/cmd/olareg.
package tools

import _ "github.com/olareg/olareg/cmd/olareg"
