package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// modulePath is the pusher's module, which a team's own pusher requires.
const modulePath = "github.com/apigw-pusher/apigw-pusher"

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the module version, the VCS revision and the Go version of the build",
		usage:   "usage: pusher version\n",
		define:  defineVersion,
	}
}

func defineVersion(fs *settings.Flags) runFunc {
	return func(_ context.Context, e env, _ []custom.Option) error {
		if fs.NArg() > 0 {
			fs.Usage()
			return errors.New("version takes no arguments")
		}
		bi, ok := debug.ReadBuildInfo()
		if !ok {
			return errors.New("the binary holds no build information: build it with module support")
		}
		writeVersion(e.stdout, bi)
		return nil
	}
}

// writeVersion writes what bi says of the build: the pusher's module version ("(devel)"
// when built from a checkout), the main module when it is a team's own pusher, the VCS
// revision and whether the tree was modified, when go build recorded them, and the Go
// version.
func writeVersion(w io.Writer, bi *debug.BuildInfo) {
	version := bi.Main.Version
	if bi.Main.Path != modulePath {
		version = "unknown"
		for _, m := range bi.Deps {
			if m.Path == modulePath {
				if m.Replace != nil {
					m = m.Replace
				}
				version = m.Version
			}
		}
	}
	fmt.Fprintf(w, "pusher %s\n", version)
	if bi.Main.Path != modulePath && bi.Main.Path != "" {
		fmt.Fprintf(w, "module   %s %s\n", bi.Main.Path, bi.Main.Version)
	}
	var revision, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision != "" {
		if modified == "true" {
			revision += " (modified)"
		}
		fmt.Fprintf(w, "revision %s\n", revision)
	}
	fmt.Fprintf(w, "go       %s\n", bi.GoVersion)
}
