// Package browsertest runs pages in a real browser for tests: Debian's headless
// Chromium (package chromium, which .ci/run installs), driven through the DevTools
// protocol by github.com/chromedp/chromedp.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Install is the command that installs the browser on Debian, as .ci/run does.
const Install = "apt-get install -y chromium"

// ScreenshotsEnv is the variable that, set to 1, makes Screenshot write into docs/ the
// pictures the README shows: `BROWSERTEST_SCREENSHOTS=1 go test ./cmd/...`. Unset, a
// screenshot is still taken, and written to the test's temporary directory.
const ScreenshotsEnv = "BROWSERTEST_SCREENSHOTS"

// Browser is one headless Chromium, closed at the end of its test.
type Browser struct {
	t   testing.TB
	ctx context.Context // the browser's own context: its first tab
}

// New starts a headless Chromium with a new, empty profile, ended with the test, with
// more options if given (such as chromedp.Flag("host-resolver-rules", "MAP evil.test
// 127.0.0.1"), to resolve a name as a DNS rebinding attack would). It fails the test
// when no browser is installed (CHROMIUM_BIN names another binary).
//
// The flags are those that let Chromium start as root on a machine whose network
// reaches no Google host: without --disable-background-networking and its kin, it
// keeps dialling them, and the closed network refuses them by the dozen.
func New(t testing.TB, more ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	bin := os.Getenv("CHROMIUM_BIN")
	if bin == "" {
		bin = "chromium"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("Chromium is not installed (%v): run `%s`, or set CHROMIUM_BIN to its binary", err, Install)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	opts = append(opts, more...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &Browser{t: t, ctx: ctx}
}

// Tab opens a new tab of the browser, closed at the end of the test. Every action run
// in it is bounded by timeout.
func (b *Browser) Tab(timeout time.Duration) context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		b.t.Fatalf("open a tab: %v", err)
	}
	tctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	b.t.Cleanup(func() {
		cancelTimeout()
		cancel()
	})
	return tctx
}

// Screenshot takes a picture of the whole page of tab and writes it as name (such as
// "console.png"): into docs/ when ScreenshotsEnv is 1, else into the test's temporary
// directory. It returns the file's path.
func Screenshot(t testing.TB, tab context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100)) // 100 is PNG; less is JPEG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := t.TempDir()
	if os.Getenv(ScreenshotsEnv) == "1" {
		dir = docsDir(t)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	return path
}

// docsDir returns the repository's docs/ folder, found from this file's place in it.
func docsDir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("find the repository: no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "docs")
}
