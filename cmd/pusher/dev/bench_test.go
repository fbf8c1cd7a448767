//go:build unix

package dev_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// benchClients is how many WebSocket clients BenchmarkBroadcast connects.
const benchClients = 10_000

// BenchmarkBroadcast measures what a pusher costs per frame: a pipeline (as `pusher
// serve` and the Lambda run it, over a memory store here) broadcasts to 10,000 WebSocket
// clients of `pusher dev`'s gateway, then a plain loop of 256 concurrent HTTP calls posts
// as many frames to the same clients. It reports the frame rates of both, the CPU time
// (user + system, from this process's rusage) per frame of both, their ratios, and the
// pipeline's allocations per frame.
//
// The gateway and its clients live in child processes, so this process's CPU is the
// pusher's alone, as in production where the gateway is AWS's.
//
// The pipeline posts with each of:
//
//   - poster=signed: the adapters/apigw poster signing with SigV4, as a deployment posts;
//
//   - poster=unsigned: the same poster unsigned, as `pusher dev` posts to its own gateway;
//
//   - poster=sdk-client: the SDK's apigatewaymanagementapi client, signing, for comparison;
//
//   - poster=http: bare net/http like the plain loop's, so that its ratio is the cost of
//     the pipeline alone.
//
//     go test -run '^$' -bench Broadcast -benchtime 10x ./cmd/pusher/dev/
func BenchmarkBroadcast(b *testing.B) {
	clients := startClients(b, benchClients)
	signed := aws.Config{Region: "eu-west-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, nil
	})}
	posters := []struct {
		name   string
		poster func(b *testing.B) handlers.Poster
	}{
		{"signed", func(b *testing.B) handlers.Poster { return newAPIGWPoster(b, signed, clients.url) }},
		{"unsigned", func(b *testing.B) handlers.Poster { return newAPIGWPoster(b, apigw.LocalConfig(""), clients.url) }},
		{"sdk-client", func(b *testing.B) handlers.Poster {
			client := apigatewaymanagementapi.NewFromConfig(signed, func(o *apigatewaymanagementapi.Options) {
				o.BaseEndpoint = aws.String(clients.url)
				o.Retryer = aws.NopRetryer{}
				o.HTTPClient = newPlainClient(b)
			})
			return posterFunc(func(ctx context.Context, id string, frame []byte) error {
				_, err := client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: frame})
				return err
			})
		}},
		{"http", func(b *testing.B) handlers.Poster { return plainPoster{newPlainClient(b), clients.url} }},
	}
	for _, p := range posters {
		b.Run("poster="+p.name, func(b *testing.B) { benchmarkBroadcast(b, clients, p.poster(b)) })
	}
}

func benchmarkBroadcast(b *testing.B, clients *children, poster handlers.Poster) {
	store := memory.NewStore(0)
	for _, c := range clients.conns {
		_ = store.AddConnection(context.Background(), c)
	}
	pl := startPipeline(b, store, poster)
	plain := plainPoster{newPlainClient(b), clients.url}
	frame := []byte(`{"type":"announcement","text":"a broadcast to every connected user"}`)
	broadcast := func() {
		res, err := pl.Process(context.Background(), message.NewMessage(watermill.NewUUID(), []byte(`{"data":`+string(frame)+`}`)))
		if err != nil || res.Delivered != benchClients {
			b.Fatalf("broadcast delivered %d of %d: %v", res.Delivered, benchClients, err)
		}
		clients.await(b)
	}
	broadcast() // warm the connections to the gateway
	postAll(b, plain, clients.conns, frame, 256)
	clients.await(b)

	var pipelineTime, plainTime, pipelineCPU, plainCPU time.Duration
	var allocs uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start, cpu, objects := time.Now(), cpuTime(), allocatedObjects()
		broadcast()
		pipelineTime += time.Since(start)
		pipelineCPU += cpuTime() - cpu
		allocs += allocatedObjects() - objects

		b.StopTimer() // ns/op is the pipeline's broadcast; the plain loop is timed apart
		start, cpu = time.Now(), cpuTime()
		postAll(b, plain, clients.conns, frame, 256)
		clients.await(b)
		plainTime += time.Since(start)
		plainCPU += cpuTime() - cpu
		b.StartTimer()
	}
	b.StopTimer()
	frames := float64(b.N * benchClients)
	pipelineRate, plainRate := frames/pipelineTime.Seconds(), frames/plainTime.Seconds()
	b.ReportMetric(pipelineRate, "pipeline-frames/s")
	b.ReportMetric(plainRate, "plain-frames/s")
	b.ReportMetric(pipelineRate/plainRate, "ratio")
	b.ReportMetric(float64(pipelineCPU.Nanoseconds())/1e3/frames, "pipeline-cpu-µs/frame")
	b.ReportMetric(float64(plainCPU.Nanoseconds())/1e3/frames, "plain-cpu-µs/frame")
	b.ReportMetric(float64(pipelineCPU)/float64(plainCPU), "cpu-ratio")
	b.ReportMetric(float64(allocs)/frames, "allocs/frame")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// startPipeline runs, until the benchmark ends, a pipeline with the defaults over store,
// posting with poster.
func startPipeline(b *testing.B, store *memory.Store, poster handlers.Poster) *pipeline.Pipeline {
	return startPipelineWith(b, pipeline.Config{}, store, poster)
}

// startPipelineWith runs, until the benchmark ends, a pipeline of cfg over store,
// posting with poster and observed by observers.
func startPipelineWith(b *testing.B, cfg pipeline.Config, store *memory.Store, poster handlers.Poster, observers ...pipeline.Observer) *pipeline.Pipeline {
	pl, err := pipeline.New(cfg, store, poster, memory.NewPoisonQueue(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range observers {
		pl.Observe(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pl.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("pipeline: %v", err)
		}
	})
	<-pl.Running()
	return pl
}

func newAPIGWPoster(b *testing.B, awsCfg aws.Config, endpoint string) handlers.Poster {
	p, err := apigw.New(awsCfg, apigw.Config{Endpoint: endpoint})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

type posterFunc func(ctx context.Context, id string, frame []byte) error

func (f posterFunc) PostToConnection(ctx context.Context, id string, frame []byte) error {
	return f(ctx, id, frame)
}

// newPlainClient returns a client of 256 connections, closed when b ends: the gateway's
// process holds one file for each beside its clients' sockets (see maxClients), and a
// sub-benchmark runs more than once.
func newPlainClient(b *testing.B) *http.Client {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.Cleanup(c.CloseIdleConnections)
	return c
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
func postAll(b *testing.B, poster plainPoster, conns []handlers.Connection, frame []byte, n int) {
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
	for _, c := range conns {
		work <- c.ConnectionID
	}
	close(work)
	wg.Wait()
}

// allocatedObjects returns how many heap objects the process has allocated so far.
func allocatedObjects() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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

// children are the benchmark's child processes, this test binary again running
// TestBenchmarkGateway or TestBenchmarkClients: one process may not hold 20,000 sockets
// here.
type children struct {
	url      string // the gateway's Management API
	conns    []handlers.Connection
	n        int
	expected int
	gateway  *child
	clients  *child
}

// child is a child process talking in lines on its stdin and stdout.
type child struct {
	in  io.Writer
	out *bufio.Scanner
}

func startChild(b *testing.B, test string, env ...string) *child {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
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
	return &child{in: in, out: bufio.NewScanner(out)}
}

// next returns the child's next line.
func (c *child) next(b *testing.B) string {
	b.Helper()
	if !c.out.Scan() {
		b.Fatalf("child process ended: %v", c.out.Err())
	}
	return c.out.Text()
}

// startClients starts `pusher dev` and n clients connected to it, and lists their
// connections.
func startClients(b *testing.B, n int) *children {
	b.Helper()
	return startClientsBehind(b, "TestBenchmarkGateway", n)
}

// startClientsBehind is startClients whose `pusher dev` is the child process test,
// TestBenchmarkGateway or another that calls serveBenchGateway, with env.
func startClientsBehind(b *testing.B, test string, n int, env ...string) *children {
	b.Helper()
	needFiles(b, n)
	c := &children{n: n, gateway: startChild(b, test, append(env, "PUSHER_BENCH_GATEWAY=1")...)}
	url, ok := strings.CutPrefix(c.gateway.next(b), "ready ")
	if !ok {
		b.Fatal("the gateway process did not say ready")
	}
	c.url = url
	ws := "ws" + strings.TrimPrefix(url, "http") + "/?user_id="
	c.clients = startChild(b, "TestBenchmarkClients", "PUSHER_BENCH_URL="+ws, "PUSHER_BENCH_CLIENTS="+strconv.Itoa(n))
	if line := c.clients.next(b); line != "ready" {
		b.Fatalf("the client process said %q, not ready", line)
	}
	c.conns = c.list(b, n)
	return c
}

// list returns the gateway's connections once it holds n: the child processes'
// clients and those of this process.
func (c *children) list(b *testing.B, n int) []handlers.Connection {
	b.Helper()
	fmt.Fprintf(c.gateway.in, "%d\n", n)
	var conns []handlers.Connection
	for line := c.gateway.next(b); line != "end"; line = c.gateway.next(b) {
		user, id, _ := strings.Cut(line, " ")
		conns = append(conns, handlers.Connection{UserID: user, ConnectionID: id})
	}
	return conns
}

// await returns once every client has received one more frame.
func (c *children) await(b *testing.B) {
	b.Helper()
	c.awaitN(b, c.n)
}

// awaitN returns once the clients have received n more frames between them.
func (c *children) awaitN(b *testing.B, n int) {
	b.Helper()
	c.expected += n
	fmt.Fprintf(c.clients.in, "%d\n", c.expected)
	if line := c.clients.next(b); line != "done" {
		b.Fatalf("the client process said %q, not done", line)
	}
}

// filesBeside is how many open files the gateway's process needs beside one socket a
// client: the posts' connections (POST_CONCURRENCY, 256), the listener, its pipes.
const filesBeside = 512

// maxClients returns the most clients the processes may hold: the gateway's process
// holds a socket for each, and the client process too. Go raises the soft limit of open
// files to the hard one at start; raising the hard one (ulimit -n) takes root with
// CAP_SYS_RESOURCE.
func maxClients(b *testing.B) int {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	return int(min(lim.Cur, math.MaxInt32)) - filesBeside
}

// needFiles skips the benchmark when the processes may not open enough files for n
// clients.
func needFiles(b *testing.B, n int) {
	b.Helper()
	if most := maxClients(b); n > most {
		b.Skipf("%d clients need %d open files a process, and the limit allows %d clients: raise it (ulimit -n %d)", n, n+filesBeside, most, n+filesBeside)
	}
}

// TestBenchmarkGateway is a child process of BenchmarkBroadcast; alone it skips. It runs
// `pusher dev` as serveBenchGateway says.
func TestBenchmarkGateway(t *testing.T) {
	if os.Getenv("PUSHER_BENCH_GATEWAY") == "" {
		t.Skip("a child process of BenchmarkBroadcast")
	}
	serveBenchGateway(t, dev.Config{})
}

// serveBenchGateway runs `pusher dev` of cfg and says "ready" and its URL; for each
// count n read on stdin, it writes each connection as "user id" once n are connected,
// then "end".
func serveBenchGateway(t *testing.T, cfg dev.Config) {
	p := startDev(t, cfg)
	fmt.Println("ready", p.URL())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		n, _ := strconv.Atoi(in.Text())
		for p.Store.Len() < n {
			time.Sleep(10 * time.Millisecond)
		}
		_ = p.Store.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error {
			for _, c := range conns {
				fmt.Println(c.UserID, c.ConnectionID)
			}
			return nil
		})
		fmt.Println("end")
	}
}

// TestBenchmarkClients is a child process of BenchmarkBroadcast; alone it skips. It
// connects the clients, says "ready", then for each total frame count read on stdin
// says "done" once the clients have received that many frames.
func TestBenchmarkClients(t *testing.T) {
	url, n := os.Getenv("PUSHER_BENCH_URL"), os.Getenv("PUSHER_BENCH_CLIENTS")
	if url == "" {
		t.Skip("a child process of BenchmarkBroadcast")
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
