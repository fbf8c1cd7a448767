package browsertest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/browsertest"
)

// TestTabRunsAPageScript loads a page whose script writes the result of a click, in two
// tabs of one browser, and screenshots one: what the console and counter tests rely on.
func TestTabRunsAPageScript(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><button id=b onclick="document.getElementById('out').textContent = 6*7">go</button><p id=out></p>`))
	}))
	defer srv.Close()
	b := browsertest.New(t)
	for _, tab := range []int{1, 2} {
		ctx := b.Tab(30 * time.Second)
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.Click("#b")); err != nil {
			t.Fatalf("tab %d: %v", tab, err)
		}
		got, err := chromedp.Run(ctx, chromedp.Text("#out"))
		if err != nil || got != "42" {
			t.Fatalf("tab %d: the page shows %q (%v), want 42", tab, got, err)
		}
		if tab == 2 {
			png, err := os.ReadFile(browsertest.Screenshot(t, ctx, "browsertest.png"))
			if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
				t.Fatalf("screenshot is not a PNG (%v)", err)
			}
		}
	}
}
