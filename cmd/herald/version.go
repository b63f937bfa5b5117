package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/heraldnews/herald/store"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register(&command{
		name:    "version",
		summary: "print Herald's version, Go version and database schema version",
		run: func(ctx context.Context, e *env, o *cmdOpts, args []string) error {
			v := version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v = "dev-" + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(e.stdout, "herald %s (%s, schema %d)\n", v, runtime.Version(), store.LatestSchemaVersion())
			return nil
		},
	})
}
