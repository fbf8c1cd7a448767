package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
)

// TestReplayOnDev runs `pusher replay` against a running pusher dev whose intake
// parked a body that is not JSON, as the runbook does: the bare command lists, an
// unknown stage is refused with the stages there are, an export imported twice is
// parked once, and a send says what became of each message.
func TestReplayOnDev(t *testing.T) {
	d := stacktest.Dev(t, dev.Config{}, nil)
	resp, err := http.Post(d.URL()+"/notifications", "application/json", strings.NewReader(`{"users":["bob"],"data":`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(d.Poison.Messages()) != 1 {
		t.Fatalf("the intake answered %s and parked %d, want 400 and the body parked", resp.Status, len(d.Poison.Messages()))
	}
	uuid := d.Poison.Messages()[0].UUID
	run := func(args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), append([]string{"replay"}, args...), &stdout, &stderr)
		return stdout.String(), err
	}

	t.Run("the bare command lists", func(t *testing.T) {
		out, err := run("--dev", d.URL())
		if err != nil || !strings.Contains(out, "1      intake  body is not JSON") || !strings.Contains(out, uuid) {
			t.Errorf("pusher replay --dev: %v\n%s", err, out)
		}
	})

	t.Run("an unknown stage is refused", func(t *testing.T) {
		for _, sub := range []string{"list", "send", "export"} {
			_, err := run(sub, "--dev", d.URL(), "--stage", "posting")
			if err == nil || !strings.Contains(err.Error(), `no stage "posting": the stages are intake, decode, dedupe, resolve, fanout, post, prune`) {
				t.Errorf("replay %s --stage posting: %v, want it refused with the stages", sub, err)
			}
		}
	})

	t.Run("an export imported twice is parked once", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "parked.jsonl")
		out, err := run("export", "--dev", d.URL())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"imported 0 messages, skipped 1 parked already", "imported 0 messages, skipped 1 parked already"} {
			// Flags after the file, as `list` takes them.
			if out, err := run("import", file, "--dev", d.URL()); err != nil || !strings.Contains(out, want) {
				t.Errorf("import: %v %q, want %q", err, out, want)
			}
		}
		if n := len(d.Poison.Messages()); n != 1 {
			t.Errorf("%d parked, want 1", n)
		}
	})

	t.Run("a send says what became of each", func(t *testing.T) {
		out, err := run("send", "--dev", d.URL())
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"selected 1\n", "delivered     0", "connecting    0", "parked again  1  failed again: back in the poison queue", "failed        0"} {
			if !strings.Contains(out, line) {
				t.Errorf("summary\n%s\nwant %q", out, line)
			}
		}
		if left := d.Poison.Messages(); len(left) != 1 || left[0].UUID == uuid {
			t.Errorf("parked after the send: %v, want the body parked again as a new message", left)
		}
	})
}
