package dev_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The throttled gateway of the pacing tests: API Gateway's account throttle scaled down
// to what two shared cores and the race detector carry, its burst the default, half a
// second of the rate (250), as AWS's 5,000 is of its 10,000.
const (
	paceGatewayRPS = 500
	paceClients    = 1000 // a broadcast of 2s at the gateway's rate
)

// TestThrottledBroadcast broadcasts to live clients of `pusher dev` whose gateway
// throttles its Management API as API Gateway's account throttle does, paced at the
// gateway's rate, above it, and not at all, and checks what the clients receive.
func TestThrottledBroadcast(t *testing.T) {
	if testing.Short() {
		t.Skip("a broadcast of 2s to 1,000 live clients")
	}
	t.Run("paced at the gateway's rate", func(t *testing.T) {
		d := startThrottledDev(t, pipeline.PaceConfig{Rate: paceGatewayRPS})
		res := d.broadcast(t, "at-rate")
		d.receivedOnce(t, "at-rate")
		d.nothingParked(t, res)
		// The pacer's steady 500/s never outruns a bucket refilled at 500/s.
		if throttled, posts := d.Gateway.Throttled(), d.posts(); throttled*100 >= posts {
			t.Errorf("%d of %d posts throttled (429), want under 1%%", throttled, posts)
		}
		if lowest := d.watch.lowestRate(); lowest != 0 && lowest < paceGatewayRPS {
			t.Errorf("the post rate came down to %.0f/s, want it left at the setting (no 429)", lowest)
		}
	})

	t.Run("paced at twice the gateway's rate", func(t *testing.T) {
		const rate = 2 * paceGatewayRPS
		d := startThrottledDev(t, pipeline.PaceConfig{Rate: rate})
		res := d.broadcast(t, "above-rate")
		d.receivedOnce(t, "above-rate")
		d.nothingParked(t, res)
		// Past the gateway's burst, half the posts at 1,000/s are 429s: the first cuts
		// the rate to 0.7 of the setting, and the retries take their tokens at the
		// lowered rate.
		lowest := d.watch.lowestRate()
		if lowest == 0 || lowest > 0.7*rate {
			t.Errorf("the post rate's lowest was %.0f/s, want it cut to %.0f/s or below", lowest, 0.7*rate)
		}
		t.Logf("429s: %d of %d posts; the rate came down to %.0f/s", d.Gateway.Throttled(), d.posts(), lowest)
	})

	// The contrast, as before pacing: 256 posts in flight drain the gateway's bucket at
	// once and the rest are throttled, retried with backoff, and parked if the bucket
	// refills too slowly. How many are parked depends on the machine's speed; that 429s
	// are answered does not, and a 429 delivers nothing, so no client gets the frame
	// twice, and each delivery is either received or parked.
	t.Run("unpaced", func(t *testing.T) {
		d := startThrottledDev(t, pipeline.PaceConfig{})
		res := d.broadcast(t, "unpaced")
		if d.Gateway.Throttled() == 0 {
			t.Errorf("no post throttled of %d, want 429s from an unpaced broadcast", d.posts())
		}
		received := 0
		for _, c := range d.clients {
			c.flush(t)
			switch n := c.count("unpaced"); n {
			case 0:
			case 1:
				received++
			default:
				t.Errorf("%s received the broadcast %d times", c.user, n)
			}
		}
		if received != res.Delivered || res.Delivered+res.Failed != paceClients {
			t.Errorf("clients received %d; the pipeline reports %d delivered and %d parked, want %d in all",
				received, res.Delivered, res.Failed, paceClients)
		}
		t.Logf("429s: %d of %d posts; %d delivered, %d parked", d.Gateway.Throttled(), d.posts(), res.Delivered, res.Failed)
	})
}

// TestMulticastDuringThrottledBroadcast sends a multicast to one user while a paced
// broadcast to 1,000 live clients is being posted at the throttled gateway's rate (2s):
// the multicast's client receives it before the broadcast's last client receives the
// broadcast, and within a hundred of the broadcast's posts of being sent, because the
// multicast takes the next post in turn rather than queueing behind the broadcast's
// deliveries.
func TestMulticastDuringThrottledBroadcast(t *testing.T) {
	if testing.Short() {
		t.Skip("a broadcast of 2s to 1,000 live clients")
	}
	d := startThrottledDev(t, pipeline.PaceConfig{Rate: paceGatewayRPS})
	probe := d.clients[len(d.clients)-1] // a user the broadcast reaches too

	if resp := send(t, d.Pusher, `{"data":"broadcast"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("broadcast: status %d", resp.StatusCode)
	}
	stacktest.Eventually(t, "a tenth of the clients received the broadcast", func() bool {
		return d.receivedBy("broadcast") >= paceClients/10
	})
	sentAt := time.Now()
	if resp := send(t, d.Pusher, `{"users":["`+probe.user+`"],"data":"multicast"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("multicast: status %d", resp.StatusCode)
	}
	var broadcast pipeline.Result
	for range 2 {
		if res := d.settled(t); res.Kind == "broadcast" {
			broadcast = res
		}
	}
	d.receivedOnce(t, "broadcast")
	d.nothingParked(t, broadcast)

	multicastAt, ok := probe.receivedAt("multicast")
	if !ok {
		t.Fatalf("%s did not receive the multicast", probe.user)
	}
	var last time.Time
	overtook, after := 0, 0 // broadcast receipts while the multicast was on its way, and after
	for _, c := range d.clients {
		at, _ := c.receivedAt("broadcast")
		if at.After(last) {
			last = at
		}
		switch {
		case at.After(multicastAt):
			after++
		case at.After(sentAt):
			overtook++
		}
	}
	if !multicastAt.Before(last) {
		t.Errorf("the multicast was received %s after the broadcast's last client received it, want before",
			multicastAt.Sub(last))
	}
	// It waits for a post in turn, not for the broadcast's deliveries queued for the
	// rate: at 500 posts/s, a hundred of them are 200ms, room for a loaded machine.
	if overtook > 100 {
		t.Errorf("%d clients received the broadcast while the multicast was on its way (%s), want at most 100",
			overtook, multicastAt.Sub(sentAt).Round(time.Millisecond))
	}
	t.Logf("the multicast took %s, %d broadcast frames received meanwhile; received %s before the broadcast ended, %d clients after it",
		multicastAt.Sub(sentAt).Round(time.Millisecond), overtook, last.Sub(multicastAt).Round(time.Millisecond), after)
}

// throttledDev is a `pusher dev` whose gateway throttles at paceGatewayRPS, with
// paceClients live clients.
type throttledDev struct {
	*dev.Pusher
	watch   *paceWatch
	clients []*liveClient
}

// startThrottledDev runs `pusher dev` paced by pace, its gateway throttled at
// paceGatewayRPS (burst: the default, half a second), and connects paceClients live
// clients to it.
func startThrottledDev(t *testing.T, pace pipeline.PaceConfig) *throttledDev {
	t.Helper()
	p := buildDev(t, dev.Config{ThrottleRPS: paceGatewayRPS, Pipeline: pipeline.Config{Pace: pace}})
	watch := &paceWatch{results: make(chan pipeline.Result, 10)}
	p.Pipeline.Observe(watch)
	run(t, p)
	return &throttledDev{Pusher: p, watch: watch, clients: connectLive(t, p, paceClients)}
}

// broadcast sends a broadcast of frame "name" and returns its result once settled.
func (d *throttledDev) broadcast(t *testing.T, name string) pipeline.Result {
	t.Helper()
	if resp := send(t, d.Pusher, `{"data":"`+name+`"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("broadcast: status %d", resp.StatusCode)
	}
	return d.settled(t)
}

// settled returns the next request's result once it is settled.
func (d *throttledDev) settled(t *testing.T) pipeline.Result {
	t.Helper()
	select {
	case res := <-d.watch.results:
		if res.Err != nil {
			t.Fatalf("the %s did not settle: %v", res.Kind, res.Err)
		}
		return res
	case <-time.After(time.Minute):
		t.Fatal("no request settled in a minute")
		return pipeline.Result{}
	}
}

// posts returns the posts the gateway was asked for: admitted or throttled.
func (d *throttledDev) posts() int64 { return d.Gateway.Admitted() + d.Gateway.Throttled() }

// receivedBy returns how many clients have received the frame "name".
func (d *throttledDev) receivedBy(name string) int {
	n := 0
	for _, c := range d.clients {
		if c.count(name) > 0 {
			n++
		}
	}
	return n
}

// receivedOnce checks that every client received the frame "name" exactly once: the
// request has settled, so every post was answered, and a ping's pong, written after
// them, tells each client has read what was written before it.
func (d *throttledDev) receivedOnce(t *testing.T, name string) {
	t.Helper()
	for _, c := range d.clients {
		c.flush(t)
		if n := c.count(name); n != 1 {
			t.Errorf("%s received %q %d times, want once", c.user, name, n)
		}
	}
}

// nothingParked checks that res delivered to every client and parked nothing.
func (d *throttledDev) nothingParked(t *testing.T, res pipeline.Result) {
	t.Helper()
	if res.Delivered != paceClients || res.Failed != 0 {
		t.Errorf("the broadcast delivered %d and parked %d, want %d delivered", res.Delivered, res.Failed, paceClients)
	}
	if parked := d.Poison.Messages(); len(parked) != 0 {
		t.Errorf("%d messages parked, the first for %q, want none", len(parked), pipeline.ParkedFrom(parked[0]).Reason)
	}
}

// paceWatch is a pipeline.Observer of the settled requests and of the post rate.
type paceWatch struct {
	pipeline.NopObserver
	results chan pipeline.Result

	mu     sync.Mutex
	lowest float64
}

func (w *paceWatch) RequestSettled(res pipeline.Result) { w.results <- res }

func (w *paceWatch) PostRate(rate float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lowest == 0 || rate < w.lowest {
		w.lowest = rate
	}
}

// lowestRate returns the lowest post rate the pipeline reported (the setting at start,
// then each move), 0 if it reported none.
func (w *paceWatch) lowestRate() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lowest
}

// liveClient is a WebSocket client of the gateway that records when it received each
// text frame.
type liveClient struct {
	user string
	ws   *websocket.Conn

	mu  sync.Mutex
	got map[string][]time.Time
}

// connectLive connects n clients, users user-0000 and on, and returns once the gateway
// lists them all as established: a broadcast then reaches every one.
func connectLive(t *testing.T, p *dev.Pusher, n int) []*liveClient {
	t.Helper()
	clients := make([]*liveClient, n)
	dials := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range clients {
		dials <- struct{}{}
		wg.Go(func() {
			defer func() { <-dials }()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			user := fmt.Sprintf("user-%04d", i)
			ws, _, err := websocket.Dial(ctx, "ws://"+p.Listener.Addr().String()+"/?user_id="+user, nil)
			if err != nil {
				t.Errorf("connect %s: %v", user, err)
				return
			}
			ws.SetReadLimit(handlers.MaxFrameBytes)
			t.Cleanup(func() { _ = ws.CloseNow() })
			c := &liveClient{user: user, ws: ws, got: map[string][]time.Time{}}
			go c.read()
			clients[i] = c
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	stacktest.Eventually(t, fmt.Sprintf("the gateway lists the %d clients", n), func() bool {
		return len(p.Gateway.List()) == n
	})
	return clients
}

// read records the frames the client receives until its connection closes; the reads
// also answer pings and read pongs.
func (c *liveClient) read() {
	for {
		_, frame, err := c.ws.Read(context.Background())
		if err != nil {
			return
		}
		now := time.Now()
		c.mu.Lock()
		c.got[string(frame)] = append(c.got[string(frame)], now)
		c.mu.Unlock()
	}
}

// flush returns once the client has read every frame the gateway wrote to it before:
// the pong to its ping comes after them on the connection.
func (c *liveClient) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		t.Fatalf("%s: ping: %v", c.user, err)
	}
}

// count returns how many times the client received the JSON string frame name.
func (c *liveClient) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got[`"`+name+`"`])
}

// receivedAt returns when the client first received the JSON string frame name.
func (c *liveClient) receivedAt(name string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	times := c.got[`"`+name+`"`]
	if len(times) == 0 {
		return time.Time{}, false
	}
	return times[0], true
}
