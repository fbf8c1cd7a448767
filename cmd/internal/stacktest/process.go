package stacktest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// BuildPusher builds cmd/pusher into a temporary folder of t and returns the binary, for
// tests that run `pusher serve` or `pusher replay` as a child process: one that SIGKILL
// and SIGTERM really stop.
func BuildPusher(t testing.TB) string { return BuildCommand(t, "./cmd/pusher") }

// BuildCommand builds the main package pkg (a path from the module root) into a
// temporary folder of t and returns the binary.
func BuildCommand(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = awstest.ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Process is a program a test runs as a child process, with its output (stdout and
// stderr) kept for the test to read, and printed if the test fails.
type Process struct {
	// Name says which process this is in the test's messages, such as "serve #2".
	Name   string
	cmd    *exec.Cmd
	out    *awstest.Buffer
	exited chan struct{}
	err    error // how it exited; set before exited is closed
}

// processTail is how much of a process's output a failed test prints.
const processTail = 64 << 10

// StartProcess runs bin with args, in the test's environment with env added (env wins),
// until it exits or the test ends, when it is killed.
func StartProcess(t testing.TB, name, bin string, args []string, env map[string]string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v) // the last of a name is the one used
	}
	p := &Process{Name: name, cmd: cmd, out: &awstest.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			out := p.Output()
			t.Logf("%s output (last %d bytes):\n%s", name, min(len(out), processTail), out[max(0, len(out)-processTail):])
		}
	})
	return p
}

// Pid returns the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output returns what the process wrote so far, stdout and stderr interleaved.
func (p *Process) Output() string { return p.out.String() }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Signal sends sig to the process; it is no error if the process has exited.
func (p *Process) Signal(sig os.Signal) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s to %s: %w", sig, p.Name, err)
	}
	return nil
}

// Kill stops the process with SIGKILL, as the kernel's OOM killer or a lost host would,
// and waits until it has exited.
func (p *Process) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.exited
}

// Wait waits up to limit for the process to exit: exited is false if it still runs
// after limit, else err is how it exited (nil for exit status 0).
func (p *Process) Wait(limit time.Duration) (exited bool, err error) {
	select {
	case <-p.exited:
		return true, p.err
	case <-time.After(limit):
		return false, nil
	}
}

// opsAddress finds, in the first line `pusher serve` prints, the address of its ops
// listener (OPS_LISTEN=127.0.0.1:0 picks a free port).
func opsAddress(output string) (string, bool) {
	const mark = "readiness on http://"
	_, rest, ok := strings.Cut(output, mark)
	if !ok {
		return "", false
	}
	addr, _, ok := strings.Cut(rest, "\n")
	return strings.TrimSpace(addr), ok
}

// ServeEnv is the environment of `pusher serve` and `pusher replay` on the stack: the
// stack's queues and table, the Management API through the faults proxy, and an ops
// listener on a free port. The AWS settings and emulator endpoints come from the test's
// environment, which New set.
func (s *Stack) ServeEnv() map[string]string {
	return map[string]string{
		"APIGW_ENDPOINT":           s.Faults.URL,
		"CONNECTIONS_TABLE_NAME":   Table,
		"SUBSCRIPTIONS_TABLE_NAME": SubscriptionsTable,
		"NOTIFICATIONS_QUEUE_URL":  s.QueueURL,
		"POISON_QUEUE_URL":         s.PoisonURL,
		"OPS_LISTEN":               "127.0.0.1:0",
	}
}

// StartServe runs `pusher serve` (bin, as BuildPusher makes it) as a child process with
// the stack's ServeEnv and env added, and returns once its /readyz answers 200: its
// pipeline takes requests. It fails the test, with the process's output, if that does
// not happen within 30s.
func (s *Stack) StartServe(t testing.TB, name, bin string, env map[string]string) *Process {
	t.Helper()
	all := s.ServeEnv()
	for k, v := range env {
		all[k] = v
	}
	p := StartProcess(t, name, bin, []string{"serve"}, all)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if addr, ok := opsAddress(p.Output()); ok && ready(ctx, "http://"+addr+"/readyz") {
			return p
		}
		select {
		case <-p.Exited():
			t.Fatalf("%s exited before it was ready: %v\n%s", name, p.err, p.Output())
		case <-ctx.Done():
			t.Fatalf("%s not ready after 30s:\n%s", name, p.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ready tells whether url answers 200.
func ready(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
