//go:build unix

package dev_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// What BenchmarkMulticastDuringBroadcast sends: broadcasts back to back to 10,000 live
// clients, alone or among 90,000 more connections still in $connect (the issue's
// 100,000-connection broadcast), and a multicast to one user every 50ms, 400 of them.
const (
	multicastClients    = 10_000
	multicastConnecting = 90_000
	multicastEvery      = 50 * time.Millisecond
	multicastSamples    = 400
)

// multicastPacing is a pipeline configuration BenchmarkMulticastDuringBroadcast runs.
type multicastPacing struct {
	name string
	cfg  pipeline.Config
}

// BenchmarkMulticastDuringBroadcast measures how long a multicast to one user takes to
// reach its client while broadcasts are being posted: issue 19's goal is 50ms at p95
// during a broadcast to 100,000 connections. A pipeline in this process (as in
// BenchmarkBroadcast) posts broadcasts back to back to the 10,000 live clients of
// `pusher dev`'s gateway in child processes, and every 50ms a multicast to a client of
// this process, which notes when it receives it; 400 multicasts (20s) an iteration.
//
// With connections=100001 the store also holds 90,000 connections that the gateway
// does not know, spread among the live ones, as connections still in $connect are: the
// gateway answers their posts 410 at once, which the pipeline counts connecting and
// prunes nothing (its PruneGrace is an hour here). Each is a post like a delivery but
// for the WebSocket write, so the broadcast is 100,001 posts long, with a tenth of the
// live clients' memory and sockets.
//
// It reports the multicasts' latency from Process to the client's receipt (p50-ms,
// p95-ms, p99-ms, max-ms) over those sent while a broadcast was being posted
// (multicasts), the broadcasts done, and their posts a second. It runs each pipeline of
// multicastPacings: unpaced, as `pusher dev` runs by default, and paced.
//
//	go test -run '^$' -bench '^BenchmarkMulticastDuringBroadcast$' -benchtime 1x -timeout 30m ./cmd/pusher/dev/
func BenchmarkMulticastDuringBroadcast(b *testing.B) {
	clients := startClients(b, multicastClients)
	probe := dialProbe(b, clients.url)
	conns := clients.list(b, multicastClients+1)
	for _, pacing := range multicastPacings() {
		for _, connecting := range []int{0, multicastConnecting} {
			b.Run(fmt.Sprintf("%s/connections=%d", pacing.name, len(conns)+connecting), func(b *testing.B) {
				benchmarkMulticast(b, pacing.cfg, connectingAmong(conns, connecting), probe)
			})
		}
	}
}

// connectingAmong returns live and n connections still in $connect, users user-<i>~<j>
// each right after a live user-<i>, sorted as the memory store keeps them, so that
// adding them in turn appends each.
func connectingAmong(live []handlers.Connection, n int) []handlers.Connection {
	all := slices.Clone(live)
	now := time.Now()
	for j := range n {
		all = append(all, handlers.Connection{UserID: fmt.Sprintf("user-%d~%d", j%multicastClients, j),
			ConnectionID: fmt.Sprintf("Y29ubmVjdGluZw%06d=", j), ConnectedAt: now})
	}
	slices.SortFunc(all, func(a, b handlers.Connection) int {
		return cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.ConnectionID, b.ConnectionID))
	})
	return all
}

func benchmarkMulticast(b *testing.B, cfg pipeline.Config, conns []handlers.Connection, probe *probeClient) {
	store := memory.NewStore(0)
	for _, c := range conns {
		_ = store.AddConnection(context.Background(), c)
	}
	cfg.PruneGrace = time.Hour // the connections still in $connect stay so
	pl := startPipelineWith(b, cfg, store, newAPIGWPoster(b, apigw.LocalConfig(""), probe.url))

	var latencies []time.Duration
	var broadcasts, posts int
	var posting time.Duration
	b.ResetTimer()
	for range b.N {
		run := measureMulticasts(b, pl, probe)
		latencies = append(latencies, run.latencies...)
		broadcasts += run.broadcasts
		posts += run.posts
		posting += run.posting
	}
	b.StopTimer()
	if len(latencies) == 0 {
		b.Fatal("no multicast was sent during a broadcast")
	}
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	b.ReportMetric(ms(percentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 0.95)), "p95-ms")
	b.ReportMetric(ms(percentile(latencies, 0.99)), "p99-ms")
	b.ReportMetric(ms(latencies[len(latencies)-1]), "max-ms")
	b.ReportMetric(float64(len(latencies)), "multicasts")
	b.ReportMetric(float64(broadcasts), "broadcasts")
	b.ReportMetric(float64(posts)/posting.Seconds(), "broadcast-posts/s")
}

// multicastRun is what one run of measureMulticasts saw.
type multicastRun struct {
	// latencies are those of the multicasts sent while a broadcast was being posted.
	latencies  []time.Duration
	broadcasts int
	// posts are the broadcasts' posts: delivered, and answered 410 while connecting.
	posts   int
	posting time.Duration
}

// measureMulticasts posts broadcasts back to back while it sends multicastSamples
// multicasts to the probe, one every multicastEvery, then lets the broadcast under way
// end.
func measureMulticasts(b *testing.B, pl *pipeline.Pipeline, probe *probeClient) multicastRun {
	var run multicastRun
	var broadcasting atomic.Bool
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			broadcasting.Store(true)
			start := time.Now()
			res, err := pl.Process(context.Background(), message.NewMessage(watermill.NewUUID(), []byte(`{"data":{"type":"announcement"}}`)))
			broadcasting.Store(false)
			if err != nil || res.Failed > 0 {
				b.Errorf("broadcast: %d parked: %v", res.Failed, err)
				return
			}
			run.broadcasts++
			run.posts += res.Delivered + res.Connecting
			run.posting += time.Since(start)
		}
	}()

	type sample struct {
		seq    int
		sent   time.Time
		during bool
	}
	samples := make([]sample, 0, multicastSamples)
	var sends sync.WaitGroup
	tick := time.NewTicker(multicastEvery)
	for range multicastSamples {
		<-tick.C
		s := sample{seq: probe.next(), during: broadcasting.Load(), sent: time.Now()}
		samples = append(samples, s)
		sends.Go(func() {
			req := fmt.Sprintf(`{"users":[%q],"data":{"probe":%d}}`, probeUser, s.seq)
			if res, err := pl.Process(context.Background(), message.NewMessage(watermill.NewUUID(), []byte(req))); err != nil || res.Delivered != 1 {
				b.Errorf("multicast %d: delivered %d: %v", s.seq, res.Delivered, err)
			}
		})
	}
	tick.Stop()
	close(stop)
	sends.Wait()
	<-stopped
	if b.Failed() {
		b.FailNow()
	}
	for _, s := range samples {
		at := probe.receivedAt(b, s.seq)
		if s.during {
			run.latencies = append(run.latencies, at.Sub(s.sent))
		}
	}
	return run
}

// percentile returns the q-quantile of sorted, the nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	return sorted[max(0, int(math.Ceil(q*float64(len(sorted))))-1)]
}

// probeUser is the user of the probe client.
const probeUser = "probe"

// probeClient is a WebSocket client of the gateway in the benchmark's process, which
// notes when it receives each multicast {"probe":<seq>}.
type probeClient struct {
	url string // the gateway's Management API
	ws  *websocket.Conn

	mu   sync.Mutex
	seq  int
	at   map[int]time.Time
	more chan struct{} // signalled on each receipt
}

// dialProbe connects the probe client to the gateway of the Management API url.
func dialProbe(b *testing.B, url string) *probeClient {
	b.Helper()
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(url, "http")+"/?user_id="+probeUser, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ws.CloseNow() })
	p := &probeClient{url: url, ws: ws, at: map[int]time.Time{}, more: make(chan struct{}, 1)}
	go p.read()
	return p
}

func (p *probeClient) read() {
	for {
		_, frame, err := p.ws.Read(context.Background())
		if err != nil {
			return
		}
		now := time.Now()
		seq, ok := strings.CutPrefix(string(frame), `{"probe":`)
		if !ok {
			continue // a broadcast
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(seq, "}"))
		p.mu.Lock()
		p.at[n] = now
		p.mu.Unlock()
		select {
		case p.more <- struct{}{}:
		default:
		}
	}
}

// next returns the next multicast's number.
func (p *probeClient) next() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	return p.seq
}

// receivedAt returns when the probe received multicast seq, waiting up to 10s for it.
func (p *probeClient) receivedAt(b *testing.B, seq int) time.Time {
	b.Helper()
	deadline := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		at, ok := p.at[seq]
		p.mu.Unlock()
		if ok {
			return at
		}
		select {
		case <-p.more:
		case <-deadline:
			b.Fatalf("the probe did not receive multicast %d", seq)
		}
	}
}
