package dev_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/custom"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/dev"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/httpserve"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// benchClients is how many WebSocket clients BenchmarkBroadcast connects.
const benchClients = 10_000

// BenchmarkBroadcast broadcasts to 10,000 WebSocket clients through `pusher dev`, then
// posts as many frames to the same clients with a plain loop of 256 concurrent HTTP calls
// to the same Management API, and reports the frame rates of both and their ratio.
//
// It runs the pipeline with two posters: "sdk" is the adapters/apigw poster on the AWS
// SDK, as `pusher dev` ships and as production posts; "http" is a bare net/http poster
// like the plain loop's, so that its ratio is the cost of the pipeline alone.
//
// The clients live in a child process (this test binary again, running
// TestBenchmarkClients), since one process may not hold 20,000 sockets here.
//
//	go test -run '^$' -bench Broadcast -benchtime 5x ./adapters/modes/dev/
func BenchmarkBroadcast(b *testing.B) {
	b.Run("poster=sdk", func(b *testing.B) { benchmarkBroadcast(b, startDev(b, dev.Config{})) })
	b.Run("poster=http", func(b *testing.B) { benchmarkBroadcast(b, startDevWithPlainPoster(b)) })
}

func benchmarkBroadcast(b *testing.B, p *dev.Pusher) {
	clients := startClients(b, "ws://"+p.Listener.Addr().String()+"/?user_id=", benchClients)
	for p.Store.Len() < benchClients {
		time.Sleep(10 * time.Millisecond)
	}
	var ids []string
	_ = p.Store.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error {
		for _, c := range conns {
			ids = append(ids, c.ConnectionID)
		}
		return nil
	})
	plain := newPlainClient()
	frame := []byte(`{"type":"announcement","text":"a broadcast to every connected user"}`)

	var pipelineTime, plainTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if resp := send(b, p, `{"data":`+string(frame)+`}`); resp.StatusCode != http.StatusAccepted {
			b.Fatalf("broadcast: status %d", resp.StatusCode)
		}
		clients.await(b)
		pipelineTime += time.Since(start)

		b.StopTimer() // ns/op is the pipeline's broadcast; the plain loop is timed apart
		start = time.Now()
		postAll(b, plainPoster{plain, p.URL()}, ids, frame, 256)
		clients.await(b)
		plainTime += time.Since(start)
		b.StartTimer()
	}
	b.StopTimer()
	frames := float64(b.N * benchClients)
	pipelineRate, plainRate := frames/pipelineTime.Seconds(), frames/plainTime.Seconds()
	b.ReportMetric(pipelineRate, "pipeline-frames/s")
	b.ReportMetric(plainRate, "plain-frames/s")
	b.ReportMetric(pipelineRate/plainRate, "ratio")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// startDevWithPlainPoster assembles `pusher dev` as BuildDev does, but posting with
// plainPoster instead of the AWS SDK.
func startDevWithPlainPoster(b *testing.B) *dev.Pusher {
	cfg, err := dev.Defaults(dev.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, closeLn, err := httpserve.Listen(cfg.Listen)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(closeLn)
	store, poison := memory.NewStore(cfg.ScanPageSize), memory.NewPoisonQueue()
	in := dev.NewIntake(poison, logger)
	pl, err := pipeline.New(cfg.Pipeline, store, plainPoster{newPlainClient(), "http://" + ln.Addr().String()}, poison, logger)
	if err != nil {
		b.Fatal(err)
	}
	gw, err := dev.NewGateway(cfg, store, logger)
	if err != nil {
		b.Fatal(err)
	}
	p, err := dev.NewPusher(ln, pl, gw, in, store, poison, custom.Options{}, logger)
	if err != nil {
		b.Fatal(err)
	}
	run(b, p)
	return p
}

func newPlainClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
}

// plainPoster posts to the Management API with bare net/http.
type plainPoster struct {
	client *http.Client
	base   string
}

func (p plainPoster) PostToConnection(ctx context.Context, id string, frame []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/@connections/"+url.PathEscape(id), bytes.NewReader(frame))
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusGone:
		return handlers.ErrGone
	default:
		return fmt.Errorf("post to %s: status %d", id, resp.StatusCode)
	}
}

// postAll posts frame to every connection with n goroutines, as a hand-written pusher would.
func postAll(b *testing.B, poster plainPoster, ids []string, frame []byte, n int) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if err := poster.PostToConnection(context.Background(), id, frame); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
}

// peakRSSMiB reads the process's peak resident set size.
func peakRSSMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// clientProcess is the child process holding the benchmark's WebSocket clients.
type clientProcess struct {
	n        int
	expected int
	in       io.Writer
	out      *bufio.Scanner
}

func startClients(b *testing.B, url string, n int) *clientProcess {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchmarkClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PUSHER_BENCH_URL="+url, "PUSHER_BENCH_CLIENTS="+strconv.Itoa(n))
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
		in.Close()
		_ = cmd.Wait()
	})
	c := &clientProcess{n: n, in: in, out: bufio.NewScanner(out)}
	c.expect(b, "ready")
	return c
}

func (c *clientProcess) expect(b *testing.B, word string) {
	b.Helper()
	for c.out.Scan() {
		if c.out.Text() == word {
			return
		}
	}
	b.Fatalf("client process ended before saying %q: %v", word, c.out.Err())
}

// await returns once every client has received one more frame.
func (c *clientProcess) await(b *testing.B) {
	b.Helper()
	c.expected += c.n
	fmt.Fprintf(c.in, "%d\n", c.expected)
	c.expect(b, "done")
}

// TestBenchmarkClients is the child process of BenchmarkBroadcast; alone it skips.
// It connects the clients, says "ready", then for each total frame count read on
// stdin says "done" once the clients have received that many frames.
func TestBenchmarkClients(t *testing.T) {
	url, n := os.Getenv("PUSHER_BENCH_URL"), os.Getenv("PUSHER_BENCH_CLIENTS")
	if url == "" {
		t.Skip("the child process of BenchmarkBroadcast")
	}
	clients, _ := strconv.Atoi(n)
	var received atomic.Int64
	dials := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		dials <- struct{}{}
		go func() {
			defer wg.Done()
			ws, _, err := websocket.Dial(context.Background(), url+"user-"+strconv.Itoa(i), nil)
			<-dials
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			go func() {
				for {
					if _, _, err := ws.Read(context.Background()); err != nil {
						return
					}
					received.Add(1)
				}
			}()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		want, _ := strconv.ParseInt(in.Text(), 10, 64)
		for received.Load() < want {
			runtime.Gosched()
			time.Sleep(100 * time.Microsecond)
		}
		fmt.Println("done")
	}
}
