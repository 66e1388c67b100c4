// ocireg: go-containerregistry's pkg/registry (an in-memory OCI distribution registry) with
// the OCI 1.1 referrers API switched on, served on 127.0.0.1 for the notation tests
// (tests/notation/conftest.py, fixture `ggcr_registry`). Built by scripts/bootstrap.
//
//	ocireg -addr 127.0.0.1:PORT
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
		fmt.Fprintln(os.Stderr, "ocireg: -addr must be a loopback address with a port")
		os.Exit(2)
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("ocireg: %v", err)
	}
	// The test fixture reads this line to learn the port (no race for a free port).
	fmt.Printf("listening on %s\n", listener.Addr())
	os.Stdout.Sync()
	handler := registry.New(registry.WithReferrersSupport(true),
		registry.Logger(log.New(os.Stderr, "ocireg ", log.LstdFlags)))
	log.Fatal(http.Serve(listener, handler))
}
