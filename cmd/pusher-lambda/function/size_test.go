package function_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// maxBootstrap is the size the arm64 bootstrap must stay under (issue 16): what Lambda
// downloads and maps at every cold start.
const maxBootstrap = 10 << 20

// TestBootstrapSize builds the arm64 bootstrap as deploy/README.md says to and checks it
// stays under 10 MiB. Each AWS SDK client links its whole service model, so a new
// import can add a megabyte: this says so before a deployment does.
func TestBootstrapSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bootstrap")
	}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", bootstrap, "./cmd/pusher-lambda")
	build.Dir = awstest.ModuleRoot(t)
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fi, err := os.Stat(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("arm64 bootstrap: %d bytes (%.2f MiB)", fi.Size(), float64(fi.Size())/(1<<20))
	if fi.Size() >= maxBootstrap {
		t.Errorf("the arm64 bootstrap is %.2f MiB, want under %d MiB", float64(fi.Size())/(1<<20), maxBootstrap>>20)
	}
}
