package stacktest

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProcess runs a shell that reports SIGTERM by its exit status: Signal reaches it,
// Wait tells how it exited, and Output holds what it printed.
func TestProcess(t *testing.T) {
	p := StartProcess(t, "sh", "/bin/sh", []string{"-c", `trap 'echo term; exit 3' TERM; echo "up $GREETING"; while :; do sleep 0.05; done`},
		map[string]string{"GREETING": "hello"})
	EventuallyWithin(t, 10*time.Second, "the shell says it is up", func() bool { return strings.Contains(p.Output(), "up hello") })
	if exited, _ := p.Wait(10 * time.Millisecond); exited {
		t.Fatal("the shell exited before the signal")
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited, err := p.Wait(10 * time.Second)
	if !exited {
		t.Fatal("the shell still runs 10s after SIGTERM")
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); !ok || exit.ExitCode() != 3 {
		t.Errorf("the shell exited with %v, want status 3", err)
	}
	if !strings.Contains(p.Output(), "term") {
		t.Errorf("output %q lacks the trap's echo", p.Output())
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("a signal to a process that exited: %v", err)
	}
}
