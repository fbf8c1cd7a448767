//go:build linux

package awstest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RIEInstall installs the Lambda Runtime Interface Emulator where RIE looks for it.
const RIEInstall = "go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// BuildBootstrap builds the main package pkg (a path from the module root, such as
// ./cmd/pusher-lambda) as a Lambda deployment does, and returns the bootstrap's path.
func BuildBootstrap(t testing.TB, pkg string) string {
	t.Helper()
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", bootstrap, pkg)
	build.Dir = ModuleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bootstrap
}

// RIE is a bootstrap running under the Lambda Runtime Interface Emulator.
type RIE struct {
	url string
	out *Buffer
	pid int
}

// StartRIE runs bootstrap under the Lambda Runtime Interface Emulator until the test
// ends, with the test's environment (a Stack's AWS settings among it) and env, and
// waits until it takes invocations.
func StartRIE(t testing.TB, bootstrap string, env map[string]string) *RIE {
	t.Helper()
	rie := os.Getenv("AWS_LAMBDA_RIE")
	if rie == "" {
		gopath, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			t.Fatal(err)
		}
		rie = filepath.Join(filepath.SplitList(strings.TrimSpace(string(gopath)))[0], "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(rie); err != nil {
		t.Fatalf("aws-lambda-rie is not installed (%v): run `%s`, or set AWS_LAMBDA_RIE to its binary", err, RIEInstall)
	}
	port := FreePort(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		bootstrap)
	// A function has no AWS profile nor shared configuration file: the bootstrap, which
	// reads its configuration from the environment alone, refuses them (see
	// awsconfig.FromEnvironment), so a developer's shell does not hand them down.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "AWS_PROFILE" || k == "AWS_DEFAULT_PROFILE" || k == "AWS_CONFIG_FILE" || k == "AWS_SHARED_CREDENTIALS_FILE"
	})
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &RIE{url: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port), out: &Buffer{}}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	// The RIE leaves its bootstrap running when killed: kill the group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.pid = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("aws-lambda-rie and bootstrap:\n%s", r.out)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			return r
		}
		select {
		case <-exited:
			t.Fatalf("aws-lambda-rie exited:\n%s", r.out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie does not listen after 10s:\n%s", r.out)
		}
	}
}

// Invoke invokes the function with payload and returns its answer and how long it took.
func (r *RIE) Invoke(t testing.TB, payload []byte) ([]byte, time.Duration) {
	t.Helper()
	began := time.Now()
	resp, err := http.Post(r.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: %s %s", resp.Status, body)
	}
	return body, time.Since(began)
}

// URL returns the function's invocation URL, as the Lambda Invoke API's: where `pusher
// gateway --lambda-integration` points. The RIE takes one invocation at a time.
func (r *RIE) URL() string { return r.url }

// Pid returns the RIE's process id; the bootstrap is its child, once invoked.
func (r *RIE) Pid() int { return r.pid }

// Output returns what the RIE and the bootstrap wrote so far.
func (r *RIE) Output() string { return r.out.String() }

// Find returns the first group of the first match of pattern in the output.
func (r *RIE) Find(t testing.TB, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(r.Output())
	if m == nil {
		t.Errorf("no %s in the output:\n%s", pattern, r.Output())
		return ""
	}
	return m[1]
}
