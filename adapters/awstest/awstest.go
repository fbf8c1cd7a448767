// Package awstest starts the AWS emulators the tests talk to, each on a free port
// of 127.0.0.1 and stopped when the test ends: goaws for SQS and SNS, dynalite for
// DynamoDB, kinesalite for Kinesis, an emulator of Secrets Manager and SSM, and the
// Lambda Runtime Interface Emulator (RIE) for a built bootstrap, with KinesisMapping in
// the role of Lambda's event source mapping of a stream. Proxies put in front of them fail calls on
// purpose (Faults, SQSFaults, DynamoDBFaults) or count them (Recorder). `.ci/run`
// installs the emulators; a test that misses one fails with the command that installs
// it. The tests of the adapters and of the commands share it, so it is not internal.
package awstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TB is what the helpers need of a test: testing.TB has it, and so has a Process, for a
// program that runs the emulators outside of a test.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

var _ TB = (testing.TB)(nil)

// Region is the region the emulators are addressed in.
const Region = "us-east-1"

// Config returns an AWS configuration with static test credentials, for clients that
// set their BaseEndpoint to an emulator's.
func Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
}

// ModuleRoot returns the folder of the repository's go.mod.
func ModuleRoot(t TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port of 127.0.0.1 that nothing listens on.
func FreePort(t TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// reporter is the part of testing.TB that Start uses, when t has it, to print an
// emulator's logs after a failed test.
type reporter interface {
	Failed() bool
	Logf(format string, args ...any)
}

// logTail is how much of an emulator's log a failed test prints.
const logTail = 64 << 10

// Start runs cmd until the test ends and waits until it accepts connections on port.
// After a failed test it prints the end of cmd's output.
func Start(t TB, name string, cmd *exec.Cmd, port int) {
	t.Helper()
	logs, err := os.CreateTemp(t.TempDir(), name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if r, ok := t.(reporter); ok && r.Failed() {
			out, _ := os.ReadFile(logs.Name())
			r.Logf("%s logs (last %d bytes):\n%s", name, min(len(out), logTail), out[max(0, len(out)-logTail):])
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logs.Name())
			t.Fatalf("%s exited before listening on %s: %v\n%s", name, addr, err, out)
		case <-ctx.Done():
			t.Fatalf("%s does not listen on %s after 30s", name, addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
