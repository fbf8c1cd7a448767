package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// BenchmarkReliability is the reliability table: `pusher serve`, built from cmd/pusher
// and run as a child process on goaws, dynalite and `pusher gateway` with live WebSocket
// clients, under one fault per row. Each request's data carries its own id, so each
// client tells the frames it missed from those it got twice. Per row it reports the
// requests sent, the frames expected (for each request, the clients it targets), those
// delivered, lost (never received once the system is quiet, after any replay, and not
// parked with its reason for a permanent error the row caused) and duplicated (received
// more than once), and prints the table at the end. The target is 0 lost in every row
// and duplicates at most 1% of the frames.
//
//	go test -run '^$' -bench Reliability -benchtime 1x ./cmd/pusher/serve/
//
// Each row is one op; set RELIABILITY_LOGS to a folder to keep the output of every
// process a row ran.
func BenchmarkReliability(b *testing.B) {
	bin := stacktest.BuildPusher(b)
	var rows []rowResult
	for _, sc := range scenarios() {
		b.Run(sc.name, func(b *testing.B) {
			ran := false
			defer func() { // also on b.Fatal
				if !ran {
					rows = append(rows, rowResult{name: sc.name, fault: sc.fault, notes: []string{"failed to run: see the log above"}})
				}
			}()
			r := newRun(b, bin, sc)
			start := time.Now()
			sc.run(r)
			res := r.result(sc, time.Since(start))
			rows, ran = append(rows, res), true
			b.ReportMetric(float64(res.requests), "requests")
			b.ReportMetric(float64(res.expected), "frames-expected")
			b.ReportMetric(float64(res.delivered), "delivered")
			b.ReportMetric(float64(res.lost), "lost")
			b.ReportMetric(float64(res.duplicated), "duplicated")
			b.ReportMetric(res.dupPercent(), "dup-%")
			b.ReportMetric(float64(res.parked), "parked")
			b.ReportMetric(float64(res.refused), "frames-parked")
			b.ReportMetric(res.wall.Seconds(), "wall-s")
		})
	}
	if len(rows) > 0 {
		fmt.Print("\n" + markdownTable(rows))
	}
}

// Sizes of a row: 60 clients of 40 users (20 of them with two connections), a few
// hundred requests mixing broadcasts, exclusions and multicasts, sent at a pace the
// service keeps up with, so that a fault hits the same traffic however fast it is.
const (
	rowUsers       = 40
	doubleUsers    = 20
	requestsPerRow = 200
	requestsPerSec = 20
	// visibility is the notifications queue's visibility timeout. The service keeps a
	// message hidden by extending it every half of it; 2s (the stack's queue) leaves
	// that heartbeat 1s, which SQS calls take on this machine under load, and the row
	// would measure the machine. 10s brings back what a SIGKILL leaves within the row.
	visibility = 10 * time.Second
	quietAfter = 2 * time.Second // with the queue empty, no frame for this long
	// poisonVisibility is how long a poison message a listing received stays hidden:
	// goaws's default visibility timeout (the stack's poison queue has no other), which
	// a ReceiveMessage's own VisibilityTimeout does not change on goaws.
	poisonVisibility = 31 * time.Second
	quietLimit       = 60 * time.Second
	shutdownGrace    = 20 * time.Second
	burstShare       = 0.5 // of the posts failed during a burst
	throttleShare    = 0.5 // of the DynamoDB calls throttled
	// postLatency is the least time API Gateway takes to answer a post (plus up to as
	// much again at random): the local gateway's sub-millisecond answers would leave
	// no request half-delivered when a process dies.
	postLatency = 10 * time.Millisecond
	// connectDuration is how long the $connect integration takes after it has stored
	// the connection, in the row of connects racing broadcasts.
	connectDuration = 50 * time.Millisecond
)

// scenario is one row of the table.
type scenario struct {
	name  string
	fault string // what is injected, for the table
	// ownClients is set for a row that connects its clients itself; the others start
	// with 60 clients of 40 users.
	ownClients bool
	run        func(r *rowRun)
}

// scenarios are the rows of the table, in order: the control, then one fault each.
func scenarios() []scenario {
	return []scenario{
		{name: "no-fault", fault: "none (control)", run: func(r *rowRun) {
			r.serve()
			r.wait(r.sendPaced(r.mixed(requestsPerRow), requestsPerSec))
			r.waitQuiet()
		}},
		{name: "gateway-429-bursts", fault: "4 bursts of 1.5s every 3s: half the posts answered 429 LimitExceededException; then replay",
			run: func(r *rowRun) { r.gatewayBursts(func() int { return http.StatusTooManyRequests }) }},
		{name: "gateway-5xx-bursts", fault: "4 bursts of 1.5s every 3s: half the posts answered 500/502/503/504; then replay",
			run: func(r *rowRun) {
				r.gatewayBursts(func() int {
					return []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}[rand.IntN(4)]
				})
			}},
		{name: "gateway-outage-10s", fault: "every post answered 503 for 10s: the breaker holds posts, nothing is replayed", run: func(r *rowRun) {
			r.serve()
			sent := r.sendPaced(r.mixed(requestsPerRow), requestsPerSec)
			var held atomic.Int64 // frames received when the gateway is back
			r.after(2*time.Second, func() { r.gateway(func(string, int) int { return http.StatusServiceUnavailable }) })
			r.after(12*time.Second, func() {
				r.gateway(nil)
				held.Store(r.frames.Load())
			})
			r.wait(sent)
			r.waitQuiet()
			r.timers.Wait() // held is set
			r.notef("%d frames delivered once the outage was over, the requests all sent by then; breaker opened %d times",
				r.frames.Load()-held.Load(), strings.Count(r.lastServe().Output(), "gateway circuit breaker open"))
		}},
		{name: "dynamodb-throttling", fault: "half the DynamoDB calls answered ProvisionedThroughputExceededException for 15s; then replay", run: func(r *rowRun) {
			r.serve()
			r.ddb.Throttle(throttleShare, awstest.ProvisionedThroughputExceeded)
			sent := r.sendPaced(r.mixed(requestsPerRow), requestsPerSec)
			r.after(15*time.Second, func() { r.ddb.Throttle(0, "") })
			r.wait(sent)
			r.waitQuiet()
			calls, throttled := r.ddb.Counts()
			r.notef("%d of %d DynamoDB calls throttled", throttled, calls)
			r.replay()
		}},
		{name: "poison-queue-outage", fault: "every post to 4 of the clients answered 413 PayloadTooLargeException (permanent: parked at once) from 1s to 9s; the poison queue answers 503 ServiceUnavailable until 6s; no replay", run: func(r *rowRun) {
			r.serve()
			refused := r.connectionsOf("user-36", "user-37", "user-38", "user-39")
			r.sqs.FailQueue(r.s.PoisonURL, awstest.SQSUnavailable)
			sent := r.sendPaced(r.mixed(requestsPerRow), requestsPerSec)
			r.after(time.Second, func() {
				r.gateway(func(id string, _ int) int {
					if refused[id] != nil {
						return http.StatusRequestEntityTooLarge
					}
					return 0
				})
			})
			r.after(6*time.Second, func() { r.sqs.FailQueue("", "") })
			r.after(9*time.Second, func() { r.gateway(nil) })
			r.wait(sent)
			r.waitQuiet()
			r.notef("%d poison-queue calls refused", r.sqs.Failed())
			r.listParked(refused)
		}},
		{name: "kill-9-mid-burst", fault: "SIGKILL once 40% of the frames are delivered, then a restart", run: func(r *rowRun) {
			r.serve()
			r.wait(r.sendAll(r.mixed(requestsPerRow)))
			r.untilDelivered(0.4)
			r.lastServe().Kill()
			r.notef("killed at %d of %d frames", r.frames.Load(), r.expectedTotal())
			r.serve()
			r.waitQuiet()
		}},
		{name: "sigterm-mid-burst", fault: "SIGTERM once 40% of the frames are delivered, then a restart", run: func(r *rowRun) {
			r.serve()
			r.wait(r.sendAll(r.mixed(requestsPerRow)))
			r.untilDelivered(0.4)
			p, at := r.lastServe(), time.Now()
			if err := p.Signal(syscall.SIGTERM); err != nil {
				r.b.Fatal(err)
			}
			r.notef("SIGTERM at %d of %d frames", r.frames.Load(), r.expectedTotal())
			exited, err := p.Wait(shutdownGrace + 10*time.Second)
			switch {
			case !exited:
				p.Kill()
				r.notef("still running %s after SIGTERM: killed", shutdownGrace+10*time.Second)
			case err != nil:
				r.notef("exited %v after %.1fs", err, time.Since(at).Seconds())
			default:
				r.notef("exited 0 after %.1fs", time.Since(at).Seconds())
			}
			r.serve()
			r.waitQuiet()
		}},
		{name: "connects-racing-broadcasts", fault: "40 clients connect during 100 broadcasts; $connect takes 50ms after storing the row, posts meanwhile answered 410",
			ownClients: true, run: func(r *rowRun) { r.racingConnects() }},
	}
}

// rowClient is a live WebSocket client and what it received.
type rowClient struct {
	name, user string
	// connected is the ledger position at which its $connect completed (its dial
	// returned).
	connected int
	mu        sync.Mutex
	got       map[int]int // request id → frames received
	foreign   int         // frames that carry no request id
	// parked holds the requests whose delivery to it is in the poison queue, parked
	// for a permanent error the row caused (see listParked).
	parked map[int]bool
}

// rowRequest is a notification request and whom it targets.
type rowRequest struct {
	id      int
	users   []string // a multicast's; nil for a broadcast
	exclude []string
	// sent is the ledger position at which it was sent (before the SendMessage call
	// began); 0 if it was not sent.
	sent int
}

func (q *rowRequest) targets(user string) bool {
	if slices.Contains(q.exclude, user) {
		return false
	}
	return q.users == nil || slices.Contains(q.users, user)
}

func (q *rowRequest) body() string {
	b, _ := json.Marshal(struct {
		Users   []string       `json:"users,omitempty"`
		Exclude []string       `json:"exclude_users,omitempty"`
		Data    map[string]int `json:"data"`
	}{q.users, q.exclude, map[string]int{"id": q.id}})
	return string(b)
}

// rowRun is one row being run: the stack, the fault proxies, the clients, the requests and
// the `pusher serve` processes.
type rowRun struct {
	b     *testing.B
	s     *stacktest.Stack
	bin   string
	queue string            // the notifications queue, with a visibility timeout of visibility
	env   map[string]string // of pusher serve, on top of the stack's
	ddb   *awstest.DynamoDBFaults
	sqs   *awstest.SQSFaults

	mu      sync.Mutex
	ledger  int // orders connects and sends
	clients []*rowClient
	reqs    []*rowRequest
	nextID  int
	serves  []*stacktest.Process
	notes   []string
	procs   []*stacktest.Process // every process run, for keepLogs

	frames      atomic.Int64 // received, by all clients
	lastFrame   atomic.Int64 // Unix nanoseconds of the last one
	posts       atomic.Int64 // that reached the Management API
	postsFailed atomic.Int64 // of them, answered with an error
	timers      sync.WaitGroup
}

func newRun(b *testing.B, bin string, sc scenario) *rowRun {
	s := stacktest.New(b)
	r := &rowRun{
		b:   b,
		s:   s,
		bin: bin,
		ddb: awstest.NewDynamoDBFaults(b, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")),
		sqs: awstest.NewSQSFaults(b, os.Getenv("AWS_ENDPOINT_URL_SQS")),
	}
	r.queue = awstest.CreateQueue(b, s.SQS, "notifications-reliability", map[string]string{"VisibilityTimeout": fmt.Sprint(visibility.Seconds())})
	r.env = map[string]string{
		"NOTIFICATIONS_QUEUE_URL":   r.queue,
		"AWS_ENDPOINT_URL_DYNAMODB": r.ddb.URL,
		"AWS_ENDPOINT_URL_SQS":      r.sqs.URL,
		"MAX_ATTEMPTS":              "5",
		"SHUTDOWN_GRACE":            shutdownGrace.String(),
		"LOG_LEVEL":                 "info",
	}
	r.gateway(nil)
	// Before the stack stops, and after the clients have hung up (cleanups run last
	// first): the gateway has 5s to unregister them, which dynalite may not make under
	// load.
	b.Cleanup(r.untilUnregistered)
	if !sc.ownClients {
		for i := range rowUsers {
			u := fmt.Sprint("user-", i)
			r.connect(s.Gateway.Listener.Addr().String(), u+"-a", u)
			if i < doubleUsers {
				r.connect(s.Gateway.Listener.Addr().String(), u+"-b", u)
			}
		}
	}
	b.Cleanup(r.timers.Wait)
	// After the processes' own cleanups, which kill them: their output is whole.
	b.Cleanup(func() { r.keepLogs(sc.name) })
	return r
}

// connect connects a client of user to the gateway at addr and reads its frames.
func (r *rowRun) connect(addr, name, user string) *rowClient {
	wc := gatewaytest.Dial(r.b, addr, name, user)
	c := &rowClient{name: name, user: user, got: map[int]int{}, parked: map[int]bool{}}
	r.mu.Lock()
	r.ledger++
	c.connected = r.ledger
	r.clients = append(r.clients, c)
	r.mu.Unlock()
	go func() {
		for f := range wc.Frames {
			var frame struct{ ID *int }
			c.mu.Lock()
			if json.Unmarshal([]byte(f), &frame) != nil || frame.ID == nil {
				c.foreign++
			} else {
				c.got[*frame.ID]++
			}
			c.mu.Unlock()
			r.frames.Add(1)
			r.lastFrame.Store(time.Now().UnixNano())
		}
	}()
	return c
}

// serve starts a `pusher serve` and waits until it is ready.
func (r *rowRun) serve() {
	r.mu.Lock()
	name := fmt.Sprintf("serve #%d", len(r.serves)+1)
	r.mu.Unlock()
	p := r.s.StartServe(r.b, name, r.bin, r.env)
	r.mu.Lock()
	r.serves = append(r.serves, p)
	r.procs = append(r.procs, p)
	r.mu.Unlock()
}

func (r *rowRun) lastServe() *stacktest.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.serves[len(r.serves)-1]
}

// mixed returns n requests: a third broadcasts, a third exclusions of 1 to 5 users, a
// third multicasts to 1 to 6 users, all users being those of the clients.
func (r *rowRun) mixed(n int) []*rowRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for _, c := range r.clients {
		if !slices.Contains(names, c.user) {
			names = append(names, c.user)
		}
	}
	pick := func(k int) []string {
		p := slices.Clone(names)
		rand.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		return p[:k]
	}
	reqs := make([]*rowRequest, n)
	for i := range reqs {
		q := &rowRequest{id: r.nextID}
		r.nextID++
		switch i % 3 {
		case 1:
			q.exclude = pick(1 + rand.IntN(5))
		case 2:
			q.users = pick(1 + rand.IntN(6))
		}
		reqs[i] = q
	}
	r.reqs = append(r.reqs, reqs...)
	return reqs
}

// sendAll sends reqs as fast as SendMessageBatch takes them: a burst.
func (r *rowRun) sendAll(reqs []*rowRequest) <-chan error {
	done := make(chan error, 1)
	go func() {
		var err error
		for chunk := range slices.Chunk(reqs, 10) {
			if err = r.sendBatch(chunk); err != nil {
				break
			}
		}
		done <- err
	}()
	return done
}

// sendPaced sends reqs at perSecond, in a batch every 100ms.
func (r *rowRun) sendPaced(reqs []*rowRequest, perSecond int) <-chan error {
	done := make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		per := max(1, perSecond/10)
		for chunk := range slices.Chunk(reqs, per) {
			if err := r.sendBatch(chunk); err != nil {
				done <- err
				return
			}
			<-tick.C
		}
		done <- nil
	}()
	return done
}

// sendBatch sends reqs (at most 10) in one SendMessageBatch, as a backend would, and
// marks those SQS took as sent.
func (r *rowRun) sendBatch(reqs []*rowRequest) error {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(reqs))
	r.mu.Lock()
	for i, q := range reqs {
		r.ledger++
		q.sent = r.ledger
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(q.id)), MessageBody: aws.String(q.body())}
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := r.s.SQS.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(r.queue), Entries: entries})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		for _, q := range reqs {
			q.sent = 0
		}
		return fmt.Errorf("send %d requests: %w", len(reqs), err)
	}
	for _, f := range out.Failed {
		for _, q := range reqs {
			if fmt.Sprint(q.id) == aws.ToString(f.Id) {
				q.sent = 0
			}
		}
	}
	return nil
}

// wait waits for a send to end, failing the row if it failed.
func (r *rowRun) wait(sent <-chan error) {
	r.b.Helper()
	if err := <-sent; err != nil {
		r.b.Fatal(err)
	}
}

// gateway makes the Management API answer each post after postLatency to twice it,
// with fail(id, n) when fail is not nil and says so (see awstest.Faults.Fail).
func (r *rowRun) gateway(fail func(id string, n int) int) {
	r.s.Faults.Fail(func(id string, n int) int {
		time.Sleep(postLatency + rand.N(postLatency)) // the gateway's latency, not a wait for an event
		r.posts.Add(1)
		if fail == nil {
			return 0
		}
		status := fail(id, n)
		if status != 0 {
			r.postsFailed.Add(1)
		}
		return status
	})
}

// untilUnregistered waits, up to 30s, until the gateway has removed from the table the
// connections of the clients that hung up.
func (r *rowRun) untilUnregistered() {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		left := 0
		err := r.s.Store.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error {
			left += len(conns)
			return nil
		})
		if err == nil && left == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond) // a poll with a deadline
	}
}

// after runs f once d has passed, unless the row has ended.
func (r *rowRun) after(d time.Duration, f func()) {
	r.timers.Add(1)
	t := time.AfterFunc(d, func() { defer r.timers.Done(); f() })
	r.b.Cleanup(func() {
		if t.Stop() {
			r.timers.Done()
		}
	})
}

// gatewayBursts runs a row of bursts of failed posts: 4 bursts of 1.5s, one every 3s
// from the first request on, in which half the posts are answered status(); then what
// was parked is replayed, as an operator would.
func (r *rowRun) gatewayBursts(status func() int) {
	r.serve()
	sent := r.sendPaced(r.mixed(requestsPerRow), requestsPerSec)
	for i := range 4 {
		start := time.Duration(i)*3*time.Second + 500*time.Millisecond
		r.after(start, func() {
			r.gateway(func(string, int) int {
				if rand.Float64() < burstShare {
					return status()
				}
				return 0
			})
		})
		r.after(start+1500*time.Millisecond, func() { r.gateway(nil) })
	}
	r.wait(sent)
	r.waitQuiet()
	r.replay()
}

// racingConnects is the row of clients connecting while broadcasts run: 30 clients are
// there from the start; 40 more connect, one every 250ms, while 100 broadcasts go out at
// 10 a second; then each client must have its row, and gets one last broadcast.
func (r *rowRun) racingConnects() {
	gate := stacktest.NewConnectGate(r.b, r.s, connectDuration)
	r.gateway(gate.Status)
	for i := range 30 {
		r.connect(gate.Addr(), fmt.Sprint("early-", i), fmt.Sprint("early-", i))
	}
	r.serve()
	var broadcasts []*rowRequest
	r.mu.Lock()
	for range 100 {
		broadcasts = append(broadcasts, &rowRequest{id: r.nextID})
		r.nextID++
	}
	r.reqs = append(r.reqs, broadcasts...)
	r.mu.Unlock()
	sent := make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for _, q := range broadcasts {
			if err := r.sendBatch([]*rowRequest{q}); err != nil {
				sent <- err
				return
			}
			<-tick.C
		}
		sent <- nil
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	for i := range 40 {
		<-tick.C
		r.connect(gate.Addr(), fmt.Sprint("late-", i), fmt.Sprint("late-", i))
	}
	tick.Stop()
	r.wait(sent)
	r.waitQuiet()

	var rowless []*rowClient
	for _, c := range r.clients {
		conns, err := r.s.Store.UserConnections(context.Background(), c.user)
		if err != nil {
			r.b.Fatal(err)
		}
		if len(conns) == 0 {
			rowless = append(rowless, c)
		}
	}
	r.mu.Lock()
	last := &rowRequest{id: r.nextID}
	r.nextID++
	r.reqs = append(r.reqs, last)
	r.mu.Unlock()
	if err := r.sendBatch([]*rowRequest{last}); err != nil {
		r.b.Fatal(err)
	}
	r.waitQuiet()
	r.mu.Lock()
	lost := 0
	for _, c := range rowless {
		c.mu.Lock()
		for _, q := range r.reqs {
			if expected(c, q) && c.got[q.id] == 0 {
				lost++
			}
		}
		c.mu.Unlock()
	}
	r.mu.Unlock()
	r.notef("%d of %d clients (%d connected late) without a row in the table once quiet, missing %d frames",
		len(rowless), len(r.clients), len(slices.DeleteFunc(slices.Clone(rowless), func(c *rowClient) bool { return !strings.HasPrefix(c.user, "late-") })), lost)
}

// replay sends what is parked back with `pusher replay send`, as the
// runbook says, and waits for the system to be quiet again.
func (r *rowRun) replay() {
	// An operator runs it again while something is left: a listing misses what a lost
	// ReceiveMessage response hid, until its visibility timeout has passed.
	for pass := 1; ; pass++ {
		if r.replayOnce() == 0 || pass == 3 {
			return
		}
		time.Sleep(poisonVisibility)
	}
}

// replayOnce runs `pusher replay send` once and returns what is left parked after it.
func (r *rowRun) replayOnce() int {
	before := r.s.Queued(r.b, r.s.PoisonURL)
	env := r.s.ServeEnv()
	env["LOG_LEVEL"] = "info"
	p := stacktest.StartProcess(r.b, "replay", r.bin, []string{"replay", "send"}, env)
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
	exited, err := p.Wait(2 * time.Minute)
	summary := "no summary"
	for line := range strings.Lines(p.Output()) {
		if strings.HasPrefix(line, "selected ") {
			summary = strings.TrimSpace(line)
		}
	}
	switch {
	case !exited:
		p.Kill()
		r.notef("replay of %d parked: still running after 2m: %s", before, summary)
	case err != nil:
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			r.b.Fatalf("replay: %v", err)
		}
		r.notef("replay of %d parked: %v: %s", before, err, summary)
	default:
		r.notef("replay of %d parked: %s", before, summary)
	}
	r.waitQuiet()
	return r.s.Queued(r.b, r.s.PoisonURL)
}

// connectionsOf returns the clients of users by their connection ids, for a fault on
// their posts; each user must have one connection.
func (r *rowRun) connectionsOf(users ...string) map[string]*rowClient {
	byID := map[string]*rowClient{}
	for _, u := range users {
		conns, err := r.s.Store.UserConnections(context.Background(), u)
		if err != nil {
			r.b.Fatal(err)
		}
		r.mu.Lock()
		clients := slices.DeleteFunc(slices.Clone(r.clients), func(c *rowClient) bool { return c.user != u })
		r.mu.Unlock()
		if len(conns) != 1 || len(clients) != 1 {
			r.b.Fatalf("%s has %d connections in the table and %d clients; want one of each", u, len(conns), len(clients))
		}
		byID[conns[0].ConnectionID] = clients[0]
	}
	return byID
}

// listParked lists the poison queue's deliveries with `pusher replay list --json`, as an
// operator would, and marks on clients (by connection id) the frames parked there for a
// 413: result counts them neither delivered nor lost.
func (r *rowRun) listParked(clients map[string]*rowClient) {
	env := r.s.ServeEnv()
	env["LOG_LEVEL"] = "warn"
	p := stacktest.StartProcess(r.b, "list", r.bin, []string{"replay", "list", "--stage", "post", "--json"}, env)
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
	if exited, err := p.Wait(2 * time.Minute); !exited || err != nil {
		r.b.Fatalf("replay list: exited %v, %v:\n%s", exited, err, p.Output())
	}
	listed, marked := 0, 0
	for line := range strings.Lines(p.Output()) {
		var rec struct {
			UUID         string
			Reason       string
			ConnectionID string `json:"connection_id"`
			Payload      string
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.UUID == "" {
			continue // a log line
		}
		listed++
		var frame struct{ ID *int }
		c := clients[rec.ConnectionID]
		if c == nil || !strings.Contains(rec.Reason, "413 PayloadTooLargeException") ||
			json.Unmarshal([]byte(rec.Payload), &frame) != nil || frame.ID == nil {
			continue
		}
		c.mu.Lock()
		if !c.parked[*frame.ID] {
			c.parked[*frame.ID] = true
			marked++
		}
		c.mu.Unlock()
	}
	r.notef("`pusher replay list` shows %d deliveries parked, %d of them distinct frames to the 413 clients", listed, marked)
}

// untilDelivered waits until the clients got share of the frames the row's requests
// target (those not sent yet included), or notes that they did not within a minute.
func (r *rowRun) untilDelivered(share float64) {
	r.mu.Lock()
	targeted := 0
	for _, c := range r.clients {
		for _, q := range r.reqs {
			if q.targets(c.user) {
				targeted++
			}
		}
	}
	r.mu.Unlock()
	want := int64(share * float64(targeted))
	r.poll(time.Minute, fmt.Sprintf("%d frames delivered", want), func() bool { return r.frames.Load() >= want })
}

// poll waits until cond holds, or notes that it did not within limit.
func (r *rowRun) poll(limit time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			r.notef("still waiting after %s for %s", limit, what)
			return
		}
		time.Sleep(20 * time.Millisecond) // a poll with a deadline
	}
}

// waitQuiet waits until the notifications queue is empty (goaws counts the messages in
// flight too) and no frame has arrived for quietAfter, or notes that it was not quiet
// within quietLimit.
func (r *rowRun) waitQuiet() {
	start := time.Now()
	for time.Since(start) < quietLimit {
		last := time.Unix(0, r.lastFrame.Load())
		if time.Since(start) >= quietAfter && time.Since(last) >= quietAfter && r.s.Queued(r.b, r.queue) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond) // a poll with a deadline
	}
	r.notef("not quiet after %s: %d requests still in the queue, their frames missing counted lost", quietLimit, r.s.Queued(r.b, r.queue))
}

func (r *rowRun) notef(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// expected tells whether c should get q: q was sent after c's $connect completed, and
// targets c's user.
func expected(c *rowClient, q *rowRequest) bool {
	return q.sent != 0 && c.connected < q.sent && q.targets(c.user)
}

func (r *rowRun) expectedTotal() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.clients {
		for _, q := range r.reqs {
			if expected(c, q) {
				n++
			}
		}
	}
	return n
}

// rowResult is one row of the table.
type rowResult struct {
	name, fault                                             string
	requests, expected, delivered, lost, duplicated, parked int
	// refused counts the frames expected but parked for a permanent error the row
	// caused, with its reason: neither delivered nor lost.
	refused int
	wall    time.Duration
	notes   []string
}

func (res rowResult) dupPercent() float64 {
	if res.expected == 0 {
		return 0
	}
	return 100 * float64(res.duplicated) / float64(res.expected)
}

// result counts, once the row is over, what the clients got against what they should
// have.
func (r *rowRun) result(sc scenario, wall time.Duration) rowResult {
	res := rowResult{name: sc.name, fault: sc.fault, wall: wall, parked: r.s.Queued(r.b, r.s.PoisonURL)}
	r.mu.Lock()
	defer r.mu.Unlock()
	unexpected, foreign := 0, 0
	for _, q := range r.reqs {
		if q.sent != 0 {
			res.requests++
		}
	}
	for _, c := range r.clients {
		c.mu.Lock()
		for _, q := range r.reqs {
			n := c.got[q.id]
			switch {
			case expected(c, q):
				res.expected++
				switch {
				case n > 0:
					res.delivered++
				case c.parked[q.id]:
					res.refused++
				default:
					res.lost++
				}
			case n > 0 && q.sent != 0 && q.targets(c.user):
				// It connected while the request was sent: it may get it or not.
			case n > 0:
				unexpected += n
			}
			res.duplicated += max(0, n-1)
		}
		foreign += c.foreign
		c.mu.Unlock()
	}
	if res.refused > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d frames expected are parked with their reason, counted neither delivered nor lost", res.refused))
	}
	if unexpected > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d frames to clients the request did not target", unexpected))
	}
	if foreign > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d frames of no request", foreign))
	}
	if failed := r.postsFailed.Load(); failed > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d of %d posts answered with an error", failed, r.posts.Load()))
	}
	res.notes = slices.Clone(r.notes)
	return res
}

// keepLogs writes the output of the row's processes to $RELIABILITY_LOGS, if set.
func (r *rowRun) keepLogs(row string) {
	dir := os.Getenv("RELIABILITY_LOGS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.b.Fatal(err)
	}
	for _, p := range r.procs {
		name := row + "-" + strings.NewReplacer(" ", "", "#", "").Replace(p.Name) + ".log"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(p.Output()), 0o644); err != nil {
			r.b.Fatal(err)
		}
	}
}

func markdownTable(rows []rowResult) string {
	var sb strings.Builder
	sb.WriteString("| row | fault | requests | frames expected | delivered | lost | duplicated | dup % | left parked | wall | notes |\n")
	sb.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, res := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %d | %d | %d | %d | %d | %.2f | %d | %.1fs | %s |\n",
			res.name, res.fault, res.requests, res.expected, res.delivered, res.lost, res.duplicated,
			res.dupPercent(), res.parked, res.wall.Seconds(), strings.Join(res.notes, "; "))
	}
	return sb.String()
}
