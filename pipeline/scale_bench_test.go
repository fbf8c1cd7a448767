//go:build linux

package pipeline_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// BenchmarkScale broadcasts to 100,000 and to 1,000,000 connections through the whole
// pipeline and the production poster (adapters/apigw, over real HTTP) to a gateway that
// answers 200 at once, from a store that makes its pages as they are asked for and holds
// no connection. It reports the frame rate, the process's CPU time per frame, its peak
// RSS (VmHWM, reset before each size) and peak heap, and at 1M the rate over the rate at
// 100k (rate-vs-100k): memory must not grow with the connections (issue 11: under 150 MB
// at 1M) and the rate must not fall (1M within 10% of 100k).
//
// The gateway lives in a child process (this test binary again, running
// TestScaleGateway) so that the RSS measured is the pusher's alone.
//
//	go test -run '^$' -bench Scale -benchtime 1x -timeout 30m ./pipeline/
func BenchmarkScale(b *testing.B) {
	gw := startScaleGateway(b)
	poster, err := apigw.New(apigw.LocalConfig(""), apigw.Config{Endpoint: gw.url})
	if err != nil {
		b.Fatal(err)
	}
	var base float64 // the rate at 100,000
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint("connections=", n), func(b *testing.B) {
			rate := benchmarkScale(b, n, poster, gw)
			switch {
			case n == 100_000:
				base = rate
			case base > 0:
				b.ReportMetric(rate/base, "rate-vs-100k")
			}
		})
	}
}

// benchmarkScale runs b.N broadcasts to n connections and returns their frame rate.
func benchmarkScale(b *testing.B, n int, poster handlers.Poster, gw *scaleGateway) float64 {
	cfg := pipeline.Config{PageSize: 100}
	store := &lazyStore{n: n, pageSize: cfg.PageSize}
	p, err := pipeline.New(cfg, store, poster, memory.NewPoisonQueue(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-p.Running()

	// What the previous size left is given back, so that the peak is this size's own.
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS(b)
	sampling, stop := context.WithCancel(context.Background())
	defer stop()
	peakHeap := sampleHeap(sampling)
	posted := gw.posted(b)
	cpu := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		broadcast(b, p, n)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	frames := float64(b.N * n)
	if got := gw.posted(b) - posted; got != int64(b.N*n) {
		b.Fatalf("the gateway took %d posts, want %d", got, b.N*n)
	}
	if pruned := store.pruned.Load(); pruned != 0 {
		b.Fatalf("%d connections pruned, want none", pruned)
	}
	rate := frames / elapsed.Seconds()
	b.ReportMetric(rate, "frames/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/frames, "cpu-µs/frame")
	b.ReportMetric(peakRSSMB(b), "peak-RSS-MB")
	b.ReportMetric(float64(peakHeap())/1e6, "peak-heap-MB")
	return rate
}

// lazyStore is a table of n connections that it makes up as they are read: connection i
// is user-i's, conn-i, and a scan's cursor is the index of the next one. It holds nothing
// per connection, so the memory a broadcast uses is the pipeline's.
type lazyStore struct {
	n, pageSize int
	pruned      atomic.Int64
}

func lazyConnection(i int) handlers.Connection {
	id := strconv.Itoa(i)
	return handlers.Connection{UserID: "user-" + id, ConnectionID: "conn-" + id}
}

// ScanConnections yields the connections from the index cursor names, a fresh page at a
// time, as a DynamoDB Scan does.
func (s *lazyStore) ScanConnections(ctx context.Context, cursor string, page func([]handlers.Connection, string) error) error {
	from := 0
	if cursor != "" {
		var err error
		if from, err = strconv.Atoi(cursor); err != nil || from < 0 {
			return handlers.Permanent(fmt.Errorf("scan: bad cursor %q", cursor))
		}
	}
	for from < s.n {
		if err := ctx.Err(); err != nil {
			return err
		}
		to := min(from+s.pageSize, s.n)
		conns := make([]handlers.Connection, 0, to-from)
		for i := from; i < to; i++ {
			conns = append(conns, lazyConnection(i))
		}
		next := strconv.Itoa(to)
		if to == s.n {
			next = ""
		}
		if err := page(conns, next); err != nil {
			return err
		}
		from = to
	}
	return nil
}

// UserConnections returns the one connection of user-i.
func (s *lazyStore) UserConnections(_ context.Context, userID string) ([]handlers.Connection, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(userID, "user-"))
	if err != nil || i < 0 || i >= s.n || !strings.HasPrefix(userID, "user-") {
		return nil, nil
	}
	return []handlers.Connection{lazyConnection(i)}, nil
}

// PruneConnections counts: nothing is gone, so the benchmark expects none.
func (s *lazyStore) PruneConnections(_ context.Context, conns []handlers.Connection, _ time.Time) error {
	s.pruned.Add(int64(len(conns)))
	return nil
}

// resetPeakRSS makes VmHWM start again from the process's current RSS (proc(5),
// /proc/pid/clear_refs).
func resetPeakRSS(b *testing.B) {
	b.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("reset peak RSS: %v", err)
	}
}

// peakRSSMB returns the process's peak resident set size, VmHWM, in MB.
func peakRSSMB(b *testing.B) float64 {
	b.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatalf("peak RSS: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				b.Fatalf("peak RSS: %q: %v", line, err)
			}
			return float64(kb) * 1024 / 1e6
		}
	}
	b.Fatal("peak RSS: no VmHWM in /proc/self/status")
	return 0
}

// scaleGateway is the child process answering the benchmark's posts.
type scaleGateway struct {
	url    string
	client *http.Client
}

// startScaleGateway starts the gateway's process and stops it when b ends.
func startScaleGateway(b testing.TB) *scaleGateway {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleGateway$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PUSHER_SCALE_GATEWAY=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close() // the child stops at the end of its stdin
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if url, ok := strings.CutPrefix(lines.Text(), "listening "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return &scaleGateway{url: url, client: &http.Client{Timeout: 10 * time.Second}}
		}
	}
	b.Fatalf("gateway process ended before listening: %v", lines.Err())
	return nil
}

// posted returns how many posts the gateway has taken.
func (g *scaleGateway) posted(b testing.TB) int64 {
	b.Helper()
	resp, err := g.client.Get(g.url + "/posted")
	if err != nil {
		b.Fatalf("gateway count: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatalf("gateway count: %v", err)
	}
	n, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil {
		b.Fatalf("gateway count: %q: %v", body, err)
	}
	return n
}

// TestScaleGateway is the child process of BenchmarkScale; alone it skips. It answers
// 200 at once to every POST /@connections/{id}, counts them for GET /posted, prints
// "listening URL" and serves until its stdin ends.
func TestScaleGateway(t *testing.T) {
	if os.Getenv("PUSHER_SCALE_GATEWAY") == "" {
		t.Skip("the child process of BenchmarkScale")
	}
	var posted atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /@connections/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		posted.Add(1)
	})
	mux.HandleFunc("GET /posted", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, posted.Load())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("listening http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
}
