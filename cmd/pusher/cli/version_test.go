package cli

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersion runs `pusher version`: the pusher's version ((devel) in a test binary)
// and the Go version, on stdout.
func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), []string{"version"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "pusher ") || !strings.HasSuffix(out, "go       "+runtime.Version()+"\n") {
		t.Errorf("pusher version printed\n%s", out)
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr %q", stderr.String())
	}
}

// TestWriteVersion reads the build information of binaries built in different ways.
func TestWriteVersion(t *testing.T) {
	vcs := func(revision, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "-trimpath", Value: "true"}, {Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: revision}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: modified}}
	}
	ours := debug.Module{Path: modulePath, Version: "(devel)"}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{name: "from a checkout", bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: ours, Settings: vcs("17028d0c", "false")},
			want: "pusher (devel)\nrevision 17028d0c\ngo       go1.26.8\n"},
		{name: "from a modified checkout", bi: debug.BuildInfo{GoVersion: "go1.26.8",
			Main: debug.Module{Path: modulePath, Version: "v0.0.0-20260102030405-17028d0c+dirty"}, Settings: vcs("17028d0c", "true")},
			want: "pusher v0.0.0-20260102030405-17028d0c+dirty\nrevision 17028d0c (modified)\ngo       go1.26.8\n"},
		{name: "without VCS stamping", bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: ours},
			want: "pusher (devel)\ngo       go1.26.8\n"},
		{name: "go install of a release", bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: modulePath, Version: "v1.2.0"}},
			want: "pusher v1.2.0\ngo       go1.26.8\n"},
		{name: "a team's own pusher", bi: debug.BuildInfo{GoVersion: "go1.26.8",
			Main:     debug.Module{Path: "example.com/team/pusher", Version: "(devel)"},
			Deps:     []*debug.Module{{Path: "github.com/aws/aws-sdk-go-v2", Version: "v1.48.0"}, {Path: modulePath, Version: "v1.2.0"}},
			Settings: vcs("abc123", "false")},
			want: "pusher v1.2.0\nmodule   example.com/team/pusher (devel)\nrevision abc123\ngo       go1.26.8\n"},
		{name: "a team's pusher on a fork", bi: debug.BuildInfo{GoVersion: "go1.26.8",
			Main: debug.Module{Path: "example.com/team/pusher", Version: "v0.3.0"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v1.2.0", Replace: &debug.Module{Path: "example.com/team/fork", Version: "v1.2.1-team"}}}},
			want: "pusher v1.2.1-team\nmodule   example.com/team/pusher v0.3.0\ngo       go1.26.8\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			writeVersion(&out, &tt.bi)
			if out.String() != tt.want {
				t.Errorf("printed\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}
