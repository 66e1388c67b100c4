// tuf-go-client: a go-tuf v2 client for the tests. It trusts ROOT (a root.json), refreshes the
// metadata from METADATA_URL, downloads TARGET from TARGETS_URL into OUT_DIR and prints the
// root version it ended on. Any refusal is printed on stderr with exit code 1.
package main

import (
	"fmt"
	"os"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

func main() {
	if len(os.Args) != 7 {
		fmt.Fprintln(os.Stderr, "usage: tuf-go-client ROOT METADATA_URL TARGETS_URL CACHE_DIR OUT_DIR TARGET")
		os.Exit(2)
	}
	rootPath, metaURL, targetsURL, cacheDir, outDir, target := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6]
	if err := run(rootPath, metaURL, targetsURL, cacheDir, outDir, target); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(rootPath, metaURL, targetsURL, cacheDir, outDir, target string) error {
	root, err := os.ReadFile(rootPath)
	if err != nil {
		return err
	}
	cfg, err := config.New(metaURL, root)
	if err != nil {
		return err
	}
	cfg.LocalMetadataDir = cacheDir
	cfg.LocalTargetsDir = outDir
	cfg.RemoteTargetsURL = targetsURL
	up, err := updater.New(cfg)
	if err != nil {
		return err
	}
	if err := up.Refresh(); err != nil {
		return err
	}
	info, err := up.GetTargetInfo(target)
	if err != nil {
		return err
	}
	path, _, err := up.DownloadTarget(info, "", "")
	if err != nil {
		return err
	}
	trusted := up.GetTrustedMetadataSet()
	fmt.Printf("root_version=%d\n", trusted.Root.Signed.Version)
	fmt.Printf("downloaded=%s\n", path)
	return nil
}
