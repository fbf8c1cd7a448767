package awstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Process runs the emulators in a program rather than a test, such as a local stack for
// `pusher serve`: it keeps their cleanups, and a failure stops the program.
type Process struct {
	cleanups []func()
	dirs     []string
}

// Helper does nothing: a Process has no call stack to trim.
func (p *Process) Helper() {}

// Fatal stops everything and exits.
func (p *Process) Fatal(args ...any) { p.Fatalf("%s", fmt.Sprint(args...)) }

// Fatalf stops everything and exits.
func (p *Process) Fatalf(format string, args ...any) {
	p.Close()
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// Cleanup runs f on Close, after the functions registered later.
func (p *Process) Cleanup(f func()) { p.cleanups = append(p.cleanups, f) }

// TempDir returns a new folder, removed on Close.
func (p *Process) TempDir() string {
	dir, err := os.MkdirTemp("", "awstest-")
	if err != nil {
		p.Fatalf("temp dir: %v", err)
	}
	p.dirs = append(p.dirs, dir)
	return dir
}

// Close stops what was started, last first.
func (p *Process) Close() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		f := p.cleanups[i]
		f()
	}
	p.cleanups = nil
	for _, d := range p.dirs {
		_ = os.RemoveAll(d)
	}
	p.dirs = nil
}

// nodeCLI returns node and the cli.js of the npm package name that `.ci/run` installs
// into .ci/node_modules of the module root, or the script the environment variable env
// names. A test that misses either fails, naming install, the command that installs it.
func nodeCLI(t TB, name, env, install string) (node, cli string) {
	t.Helper()
	cli = os.Getenv(env)
	if cli == "" {
		cli = filepath.Join(ModuleRoot(t), ".ci", "node_modules", name, "cli.js")
	}
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("%s is not installed (%v): run `%s` in the module root, or set %s to its cli.js", name, err, install, env)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("%s needs Node.js, which is not on PATH (%v); then run `%s` in the module root", name, err, install)
	}
	return node, cli
}
