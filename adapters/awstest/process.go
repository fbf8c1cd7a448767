package awstest

import (
	"fmt"
	"os"
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
