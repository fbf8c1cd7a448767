package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/browsertest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
)

// startDev runs `pusher dev` as `pusher dev --anonymous-connections --route-backend
// backend` builds it, on a free port, until the test ends.
func startDev(t *testing.T, backend string) *dev.Pusher {
	t.Helper()
	return stacktest.Dev(t, dev.Config{AnonymousConnections: true, Backend: backend}, nil)
}

// startCounter runs the counter as `go run ./cmd/counter` does beside p, on ln, with
// counter, until the test ends or stop is called; it returns the page's URL.
func startCounter(t *testing.T, ln net.Listener, p *dev.Pusher, counter app.Counter) (page string, stop func()) {
	t.Helper()
	cfg := config{Listen: ln.Addr().String(), Pusher: p.URL(), WebSocket: "ws://" + p.Listener.Addr().String() + "/"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := newHandler(cfg, counter, slog.New(slog.NewTextHandler(io.Discard, nil)))
	stop = stacktest.RunUntilCleanup(t, "the counter", func(ctx context.Context) error { return serve(ctx, ln, h) })
	return "http://" + ln.Addr().String() + "/", stop
}

// shows is a predicate of the page: it shows value, its status line names change seq
// (the highest it got), and its buttons work (its WebSocket is open).
func shows(value string, seq int) string {
	change := "no change yet"
	if seq > 0 {
		change = fmt.Sprintf("change #%d", seq)
	}
	return fmt.Sprintf(`document.querySelector(".value").textContent === %q && `+
		`document.querySelector(".status").textContent.endsWith(%q) && !document.querySelector(".plus").disabled`, value, " · "+change)
}

// waitShows waits until tab shows value after change seq, as shows says, and reports
// what it shows instead when it does not within limit.
func waitShows(tab context.Context, value string, seq int, limit time.Duration) error {
	// Mutations wake the poll: a tab in the background gets no animation frames.
	_, err := chromedp.Run(tab, chromedp.Poll[bool](shows(value, seq), chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(limit)))
	if err != nil {
		got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector(".value").textContent + " (" + document.querySelector(".status").textContent + ")"`))
		return fmt.Errorf("shows %s, want %s after change #%d: %w", got, value, seq, err)
	}
	return nil
}

// TestCounterInTwoTabs is seed 004 in a real browser: two tabs of the page, fifty clicks
// fired at once across them (35 + in one, 15 - in the other), both tabs end on the same
// value, the clicks' sum; a tab opened afterwards shows it at once; the backend agrees.
// With BROWSERTEST_SCREENSHOTS=1 it writes docs/counter.png.
func TestCounterInTwoTabs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := startDev(t, "http://"+ln.Addr().String()+"/routes")
	counter := app.NewMemoryCounter()
	page, _ := startCounter(t, ln, p, counter)

	b := browsertest.New(t)
	clicks := []struct {
		button string
		n      int
	}{{".plus", 35}, {".minus", 15}}
	tabs := make([]context.Context, len(clicks))
	for i := range tabs {
		tabs[i] = b.Tab(60 * time.Second)
		if err := chromedp.Do(tabs[i], chromedp.EmulateViewport(640, 360), chromedp.Navigate(page)); err != nil {
			t.Fatalf("tab %d: open the page: %v", i+1, err)
		}
		// The page asks for the state when its socket opens.
		if err := waitShows(tabs[i], "0", 0, 10*time.Second); err != nil {
			t.Fatalf("tab %d: %v", i+1, err)
		}
	}

	// Each tab clicks its button as fast as the browser dispatches the clicks, both tabs
	// at once: the page sends each click's message without waiting for an answer.
	var wg sync.WaitGroup
	for i, c := range clicks {
		wg.Go(func() {
			button, err := chromedp.Run(tabs[i], chromedp.Nodes(chromedp.CSS(c.button)))
			if err != nil {
				t.Errorf("tab %d: find %s: %v", i+1, c.button, err)
				return
			}
			start := time.Now()
			for range c.n {
				if err := chromedp.Do(tabs[i], chromedp.MouseClickNode(button[0])); err != nil {
					t.Errorf("tab %d: click %s: %v", i+1, c.button, err)
					return
				}
			}
			t.Logf("tab %d clicked %s %d times from %s to %s", i+1, c.button, c.n,
				start.Format("15:04:05.000"), time.Now().Format("15:04:05.000"))
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// 50 changes, 35 - 15 = 20. The page keeps the frame of the highest seq: once it
	// shows change #50, no frame still on its way can move it.
	const want, changes = "20", 50
	for i, tab := range tabs {
		if err := waitShows(tab, want, changes, 30*time.Second); err != nil {
			t.Errorf("tab %d %v", i+1, err)
		}
	}
	if s, err := counter.Get(t.Context()); err != nil || s.Value != 20 || s.Seq != changes {
		t.Errorf("the backend's counter is at %+v (%v), want value 20 after 50 changes", s, err)
	}

	// A tab opened now, when nobody clicks, can only learn the value from its own
	// {"action":"state"}: it shows it at once.
	late := b.Tab(60 * time.Second)
	start := time.Now()
	if err := chromedp.Do(late, chromedp.Navigate(page)); err != nil {
		t.Fatalf("late tab: open the page: %v", err)
	}
	if err := waitShows(late, want, changes, 5*time.Second); err != nil {
		t.Errorf("the late tab %v", err)
	}
	t.Logf("the late tab showed %s %s after it was opened", want, time.Since(start).Round(time.Millisecond))

	// Still 20 in the first two tabs: no frame that came late moved them back.
	for i, tab := range tabs {
		if got, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".value"))); err != nil || got != want {
			t.Errorf("tab %d ends on %q (%v), want %s", i+1, got, err, want)
		}
	}
	shot := browsertest.Screenshot(t, tabs[0], "counter.png")
	if info, err := os.Stat(shot); err != nil || info.Size() == 0 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
}

// TestCounterRestarted: the counter restarted alone, beside the same `pusher dev`, with a
// tab still open on the old counter's change #3. The new counter counts from zero again,
// of another epoch: the tab's next click shows the new counter's value, where a page
// that only kept the highest seq would ignore every change until #4.
func TestCounterRestarted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	p := startDev(t, "http://"+addr+"/routes")
	page, stop := startCounter(t, ln, p, app.NewMemoryCounter())

	tab := browsertest.New(t).Tab(60 * time.Second)
	if err := chromedp.Do(tab, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	if err := waitShows(tab, "0", 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(".plus"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitShows(tab, "3", 3, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// Stop the counter and start another on the same address, pusher dev's
	// ROUTE_BACKEND; the tab's WebSocket, to pusher dev, stays open throughout.
	stop()
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	startCounter(t, ln, p, app.NewMemoryCounter())
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(".minus"))); err != nil {
		t.Fatal(err)
	}
	if err := waitShows(tab, "-1", 1, 10*time.Second); err != nil {
		t.Errorf("after the restart, the tab %v", err)
	}
}

// TestPageKeepsTheHighestSeq: the page, talking to a WebSocket server of the test's,
// sends the seed's messages ({"action":"state"} on open, then one per click), and of
// state frames that arrive out of order, as concurrent broadcasts can, shows the one of
// the highest seq; when the frames' epoch changes, as a restarted backend's does, it
// takes the new epoch's frame although its seq is lower, then orders that epoch's
// frames by seq.
func TestPageKeepsTheHighestSeq(t *testing.T) {
	// What the server answers to each message: state frames in that order, then a frame
	// the page shows in its status line, so that once it does, it has read every state
	// frame before it.
	answers := map[string][]app.State{
		`{"action":"state"}`: {{Value: 7, Seq: 2, Epoch: 1000}, {Value: 9, Seq: 5, Epoch: 1000}, {Value: 8, Seq: 3, Epoch: 1000}, {Value: -1, Seq: 4, Epoch: 1000}},
		// A backend restarted: its seq counts from 1 again, and its frames too can
		// arrive out of order.
		`{"action":"plus"}`: {{Value: 11, Seq: 2, Epoch: 2000}, {Value: 10, Seq: 1, Epoch: 2000}},
	}
	received := make(chan string, 10)
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // the page is served from another origin
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			received <- string(msg)
			frames, ok := answers[string(msg)]
			if !ok {
				continue
			}
			for _, f := range frames {
				if err := c.Write(r.Context(), websocket.MessageText, f.Frame()); err != nil {
					return
				}
			}
			marker := fmt.Sprintf(`{"type":"error","action":"after %d frames","code":"bad_request","message":"done"}`, len(frames))
			_ = c.Write(r.Context(), websocket.MessageText, []byte(marker))
		}
	}))
	t.Cleanup(ws.Close)
	page := httptest.NewServer(app.Page("ws" + strings.TrimPrefix(ws.URL, "http") + "/"))
	t.Cleanup(page.Close)

	tab := browsertest.New(t).Tab(30 * time.Second)
	// shown waits for the marker that follows n frames, and returns the value shown.
	shown := func(n int) string {
		t.Helper()
		marker := fmt.Sprintf(`document.querySelector(".status").textContent === "the gateway refused after %d frames: done"`, n)
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](marker, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("the page never showed the frame after the %d state frames: %v", n, err)
		}
		got, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".value")))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if err := chromedp.Do(tab, chromedp.Navigate(page.URL)); err != nil {
		t.Fatal(err)
	}
	if got := shown(4); got != "9" {
		t.Errorf("the page shows %q, want 9, the value of seq 5", got)
	}
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(".plus"))); err != nil {
		t.Fatal(err)
	}
	if got := shown(2); got != "11" {
		t.Errorf("after frames of a new epoch, the page shows %q, want 11, the value of that epoch's seq 2", got)
	}
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(".minus"))); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		select {
		case m := <-received:
			got = append(got, m)
		case <-tab.Done():
			t.Fatalf("the page sent %q, then nothing", got)
		}
	}
	if want := []string{`{"action":"state"}`, `{"action":"plus"}`, `{"action":"minus"}`}; !slices.Equal(got, want) {
		t.Errorf("the page sent %q, want %q", got, want)
	}
}
