package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// expect reads, for each client, exactly the frames named (in any order).
func expect(t *testing.T, want map[*gatewaytest.Client][]string) {
	t.Helper()
	for c, frames := range want {
		got := make([]string, len(frames))
		for i := range got {
			got[i] = c.Next(t)
		}
		slices.Sort(got)
		frames = slices.Sorted(slices.Values(frames))
		if !slices.Equal(got, frames) {
			t.Errorf("%s got %v, want %v", c.Name, got, frames)
		}
	}
}

func TestServeDelivers(t *testing.T) {
	s := stacktest.New(t)
	topic := s.TopicARN
	alice1, alice2 := s.Connect(t, "alice-1", "alice"), s.Connect(t, "alice-2", "alice")
	bob, carol := s.Connect(t, "bob", "bob"), s.Connect(t, "carol", "carol")
	s.Serve(t, func(c *serve.Config) { c.TopicARN = topic })

	t.Run("raw JSON with SendMessage", func(t *testing.T) {
		s.Send(t, `{"users":["alice","bob","alice"],"data":{"n":1}}`)
		expect(t, map[*gatewaytest.Client][]string{alice1: {`{"n":1}`}, alice2: {`{"n":1}`}, bob: {`{"n":1}`}})
	})
	t.Run("SNS Publish", func(t *testing.T) {
		_, err := s.SNS.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(`{"exclude_users":["alice"],"data":{"n":2}}`)})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, map[*gatewaytest.Client][]string{bob: {`{"n":2}`}, carol: {`{"n":2}`}})
	})
	t.Run("SNS envelope in the queue", func(t *testing.T) {
		envelope, _ := json.Marshal(map[string]string{
			"Type": "Notification", "MessageId": "5b1d2c2e-8a8e-4f4a-9d59-0e2bd1f3c001", "TopicArn": topic,
			"Message": `{"data":{"n":3}}`, "Timestamp": "2026-11-26T12:00:00.000Z", "SignatureVersion": "1",
		})
		s.Send(t, string(envelope))
		expect(t, map[*gatewaytest.Client][]string{alice1: {`{"n":3}`}, alice2: {`{"n":3}`}, bob: {`{"n":3}`}, carol: {`{"n":3}`}})
	})
	t.Run("batch of 10 mixed requests", func(t *testing.T) {
		users := []string{"alice", "bob", "carol"}
		want := map[*gatewaytest.Client][]string{}
		clients := map[string][]*gatewaytest.Client{"alice": {alice1, alice2}, "bob": {bob}, "carol": {carol}}
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i := range 10 {
			frame := fmt.Sprintf(`{"batch":%d}`, i)
			var body string
			switch i % 3 {
			case 0: // multicast
				u := users[i%len(users)]
				body = fmt.Sprintf(`{"users":[%q],"data":%s}`, u, frame)
				for _, c := range clients[u] {
					want[c] = append(want[c], frame)
				}
			case 1: // broadcast
				body = `{"data":` + frame + `}`
				for _, cs := range clients {
					for _, c := range cs {
						want[c] = append(want[c], frame)
					}
				}
			default: // exclusion
				body = fmt.Sprintf(`{"exclude_users":["bob"],"data":%s}`, frame)
				for u, cs := range clients {
					if u != "bob" {
						for _, c := range cs {
							want[c] = append(want[c], frame)
						}
					}
				}
			}
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(body)})
		}
		if _, err := s.SQS.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(s.QueueURL), Entries: entries}); err != nil {
			t.Fatal(err)
		}
		expect(t, want)
	})
	for _, c := range []*gatewaytest.Client{alice1, alice2, bob, carol} {
		c.Quiet(t, 200*time.Millisecond)
	}
	stacktest.Eventually(t, "the notifications queue is empty", func() bool { return s.Queued(t, s.QueueURL) == 0 })
}

func TestServeParksMalformedRequests(t *testing.T) {
	s := stacktest.New(t)
	bob := s.Connect(t, "bob", "bob")
	s.Serve(t, nil)
	bad := map[string]string{
		"not a JSON object":     `{"users":["bob"],"data":`,
		`no "data"`:             `{"users":["bob"]}`,
		"not a list of strings": `{"users":"bob","data":1}`,
		"frame limit":           `{"data":"` + strings.Repeat("x", handlers.MaxFrameBytes) + `"}`,
	}
	for _, body := range bad {
		s.Send(t, body)
	}
	s.Send(t, `{"users":["bob"],"data":"after"}`)
	if got := bob.Next(t); got != `"after"` {
		t.Errorf("bob got %s, want the request after the malformed ones", got)
	}
	parked := s.Parked(t, len(bad))
	for reason, body := range bad {
		i := slices.IndexFunc(parked, func(p pipeline.Parked) bool { return p.Payload == body })
		if i < 0 {
			t.Errorf("%s: not parked", reason)
			continue
		}
		if p := parked[i]; !strings.Contains(p.Reason, reason) || p.Stage != pipeline.StageDecode || p.Class != "permanent" || p.Attempts != 1 {
			t.Errorf("%s: parked as %+v", reason, p)
		}
	}
	bob.Quiet(t, 200*time.Millisecond)
	stacktest.Eventually(t, "the notifications queue is empty", func() bool { return s.Queued(t, s.QueueURL) == 0 })
}

func TestServePrunesStaleConnections(t *testing.T) {
	s := stacktest.New(t)
	alice := s.Connect(t, "alice", "alice")
	store := s.Store
	// Stored an hour ago, long past any $connect, and no socket backs it.
	ghost := handlers.Connection{UserID: "alice", ConnectionID: "R2hvc3RDb25uZWN0aW9u", ConnectedAt: time.Now().Add(-time.Hour)}
	if err := store.AddConnection(context.Background(), ghost); err != nil {
		t.Fatal(err)
	}
	s.Serve(t, nil)
	s.Send(t, `{"users":["alice"],"data":1}`)
	if got := alice.Next(t); got != "1" {
		t.Errorf("alice got %s", got)
	}
	stacktest.Eventually(t, "the stale connection is deleted from the table", func() bool {
		conns, err := store.UserConnections(context.Background(), "alice")
		return err == nil && len(conns) == 1
	})
	if n := s.Faults.Count(ghost.ConnectionID); n != 1 {
		t.Errorf("the stale connection was posted to %d times, want 1", n)
	}
}

func TestServeRetries(t *testing.T) {
	s := stacktest.New(t)
	alice, bob := s.Connect(t, "alice", "alice"), s.Connect(t, "bob", "bob")
	aliceID, bobID := s.ConnectionID(t, "alice"), s.ConnectionID(t, "bob")
	s.Faults.Fail(func(id string, n int) int {
		switch {
		case id == aliceID && n <= 2: // 500 twice, then through
			return 500
		case id == bobID: // always 500
			return 500
		}
		return 0
	})
	s.Serve(t, func(c *serve.Config) {
		c.Pipeline.Retry = pipeline.RetryConfig{MaxAttempts: 4, InitialInterval: 300 * time.Millisecond, MaxInterval: 300 * time.Millisecond, Jitter: 0.01}
	})
	s.Send(t, `{"users":["alice","bob"],"data":"retried"}`)
	if got := alice.Next(t); got != `"retried"` {
		t.Errorf("alice got %s", got)
	}
	if n := s.Faults.Count(aliceID); n != 3 {
		t.Errorf("alice's connection was posted to %d times, want 3", n)
	}
	// Bob's delivery is still being retried: its source message must not be deleted yet.
	if n := s.Queued(t, s.QueueURL); n != 1 {
		t.Errorf("%d messages in the queue while a delivery is retried, want 1", n)
	}
	parked := s.Parked(t, 1)
	if p := parked[0]; p.Stage != pipeline.StagePost || p.ConnectionID != bobID || p.Attempts != 4 || p.Class != "transient" || p.Payload != `"retried"` {
		t.Errorf("parked %+v, want bob's delivery after 4 attempts", p)
	}
	if n := s.Faults.Count(bobID); n != 4 {
		t.Errorf("bob's connection was posted to %d times, want 4", n)
	}
	stacktest.Eventually(t, "the source message is deleted once the delivery is parked", func() bool { return s.Queued(t, s.QueueURL) == 0 })
	alice.Quiet(t, 200*time.Millisecond)
	bob.Quiet(t, 0)
}

// TestServeRestart stops the service hard in the middle of a batch and starts it again:
// every request is delivered at least once, and a request is delivered twice only if it
// was in flight at the stop, so duplicates stay under the number of requests the
// service works on at once.
func TestServeRestart(t *testing.T) {
	s := stacktest.New(t)
	a, b := s.Connect(t, "a", "a"), s.Connect(t, "b", "b")
	const requests, concurrency = 40, 5
	for i := range requests {
		s.Send(t, fmt.Sprintf(`{"data":%d}`, i))
	}
	// Slow posts keep requests in flight when the stop comes.
	s.Faults.Fail(func(string, int) int { time.Sleep(20 * time.Millisecond); return 0 })
	tune := func(c *serve.Config) {
		c.Concurrency = concurrency
		c.Pipeline.CloseTimeout = time.Millisecond // a hard stop: no grace
	}
	_, stop := s.Serve(t, tune)
	received := map[*gatewaytest.Client]map[string]int{a: {}, b: {}}
	var mu sync.Mutex
	read := func(c *gatewaytest.Client, until int) {
		for {
			mu.Lock()
			n := len(received[c])
			mu.Unlock()
			if n >= until {
				return
			}
			f := c.Next(t)
			mu.Lock()
			received[c][f]++
			mu.Unlock()
		}
	}
	read(a, requests/4)
	stop()
	mu.Lock()
	t.Logf("stopped after %d requests reached a", len(received[a]))
	mu.Unlock()
	s.Serve(t, tune)
	read(a, requests)
	read(b, requests)
	for c, frames := range received {
		dups := 0
		for _, n := range frames {
			dups += n - 1
		}
		t.Logf("%s: %d distinct frames, %d duplicates", c.Name, len(frames), dups)
		if len(frames) != requests {
			t.Errorf("%s received %d of %d requests", c.Name, len(frames), requests)
		}
		if dups > concurrency {
			t.Errorf("%s received %d duplicates, more than the %d requests in flight at the stop", c.Name, dups, concurrency)
		}
	}
}

func TestServeBroadcastsOver5000Connections(t *testing.T) {
	s := stacktest.New(t)
	store := s.Store
	const n = 5000
	storedAt := time.Now().Add(-time.Hour) // long past any $connect
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := handlers.Connection{UserID: fmt.Sprint("user-", i%1000), ConnectionID: fmt.Sprintf("conn-%04d", i), ConnectedAt: storedAt}
				if err := store.AddConnection(context.Background(), c); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	s.Serve(t, func(c *serve.Config) { c.Table.PageSize = 50 })
	s.Send(t, `{"data":"to everyone"}`)
	// No socket backs these connections: each is posted to once, answered 410, pruned.
	// Under the race detector, on two cores shared with the emulators, this takes a while.
	stacktest.EventuallyWithin(t, 2*time.Minute, "every stored connection is posted to", func() bool { _, conns := s.Faults.Total(); return conns == n })
	if posts, _ := s.Faults.Total(); posts != n {
		t.Errorf("%d posts for %d connections", posts, n)
	}
	stacktest.EventuallyWithin(t, time.Minute, "every stale connection is pruned", func() bool {
		left := 0
		_ = store.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error { left += len(conns); return nil })
		return left == 0
	})
}

// TestServeOps checks what an operator scrapes: readiness, health and the metrics of a
// request that was delivered.
func TestServeOps(t *testing.T) {
	s := stacktest.New(t)
	alice := s.Connect(t, "alice", "alice")
	svc, stop := s.Serve(t, nil)
	base := "http://" + svc.Ops.Addr().String()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	stacktest.Eventually(t, "ready", func() bool { code, _ := get("/readyz"); return code == http.StatusOK })
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz answered %d", code)
	}
	s.Send(t, `{"users":["alice"],"data":1}`)
	alice.Next(t)
	stacktest.Eventually(t, "the request counted", func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `pusher_requests_total{kind="multicast",outcome="settled"} 1`)
	})
	_, body := get("/metrics")
	for _, want := range []string{"pusher_deliveries_total 1", `pusher_post_duration_seconds_count{result="delivered"} 1`, "pusher_watermill_"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	stop()
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the ops listener still answers after the stop")
	}
}

// TestServeGracefulStop stops the service while requests are in flight, with a grace
// period: what it held settles and is deleted, so nothing is delivered twice.
func TestServeGracefulStop(t *testing.T) {
	s := stacktest.New(t)
	a := s.Connect(t, "a", "a")
	const requests = 20
	for i := range requests {
		s.Send(t, fmt.Sprintf(`{"data":%d}`, i))
	}
	s.Faults.Fail(func(string, int) int { time.Sleep(50 * time.Millisecond); return 0 })
	tune := func(c *serve.Config) { c.Concurrency = 4 }
	_, stop := s.Serve(t, tune)
	seen := map[string]int{a.Next(t): 1}
	stop() // waits for the requests in flight to settle and be deleted
	s.Faults.Fail(nil)
	s.Serve(t, tune)
	for len(seen) < requests {
		seen[a.Next(t)]++
	}
	a.Quiet(t, 2500*time.Millisecond) // past the queue's 2s visibility timeout
	for frame, n := range seen {
		if n > 1 {
			t.Errorf("%s delivered %d times", frame, n)
		}
	}
}

// TestServeConnectsRacingBroadcasts connects 100 clients to `pusher gateway` while
// broadcasts run back to back through SQS, `pusher serve` and DynamoDB, each client's
// $connect held open after its row is written (as a slow $connect Lambda function holds
// it) until a broadcast has posted to the row and been answered 410, as API Gateway
// answers before $connect completes. Such a 410 must not prune the row: afterwards every
// client has its row and receives the next request, and nothing was pruned.
func TestServeConnectsRacingBroadcasts(t *testing.T) {
	const clients = 100
	s := stacktest.New(t)
	// `pusher gateway` from its parts, on the stack's table, with $connect held in the
	// registry and the Management API behind a proxy that records each post's answer.
	ln, closeLn, err := httpserve.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLn)
	rec := gatewaytest.NewRecorder(t, "http://"+ln.Addr().String())
	held := gatewaytest.HeldConnects{Registry: s.Store, Recorder: rec, Limit: 30 * time.Second}
	lg, err := localgateway.New(localgateway.Config{Logger: stacktest.Logger(t)}, held)
	if err != nil {
		t.Fatal(err)
	}
	stacktest.RunUntilCleanup(t, "pusher gateway", (&gateway.Gateway{Listener: ln, Gateway: lg, Store: s.Store}).Run)
	svc, _ := s.Serve(t, func(c *serve.Config) { c.APIGWEndpoint = rec.URL })

	// Broadcasts back to back: each is sent once the queue holds none waiting. (Under
	// load a request may outlast the queue's 2s visibility timeout and come again; that
	// is more broadcasts, not fewer.)
	stop, stopped := make(chan struct{}), make(chan struct{})
	broadcasts := 0
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond): // the queue's count is polled
			}
			n, err := queued(s)
			if err == nil && n == 0 {
				_, err = s.SQS.SendMessage(context.Background(), &awssqs.SendMessageInput{
					QueueUrl: aws.String(s.QueueURL), MessageBody: aws.String(fmt.Sprintf(`{"data":{"broadcast":%d}}`, broadcasts)),
				})
				broadcasts++
			}
			if err != nil {
				t.Errorf("broadcast %d: %v", broadcasts, err)
				return
			}
		}
	}()

	// In waves, each once the one before is connected, so that connects and the
	// broadcasts posting to those connected before overlap throughout.
	const wave = 20
	conns := make([]*gatewaytest.Client, clients)
	for start := 0; start < clients; start += wave {
		var wg sync.WaitGroup
		for i := start; i < min(start+wave, clients); i++ {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				name := fmt.Sprintf("user-%03d", i)
				c, err := gatewaytest.Open(ctx, t, ln.Addr().String(), name, name)
				if err != nil {
					t.Error(err)
					return
				}
				conns[i] = c
			})
		}
		wg.Wait()
	}
	close(stop)
	<-stopped
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d broadcasts while %d clients connected", broadcasts, clients)

	// The race took place: a broadcast posted to each connection during its $connect and
	// was answered 410. No row was pruned for it.
	for _, c := range conns {
		rows, err := s.Store.UserConnections(context.Background(), c.Name)
		if err != nil || len(rows) != 1 {
			t.Errorf("%s: rows %v (%v), want its one connection", c.Name, rows, err)
			continue
		}
		if answers := rec.Answers(rows[0].ConnectionID); len(answers) == 0 || answers[0] != http.StatusGone {
			t.Errorf("%s: posts answered %v, want a 410 during $connect first", c.Name, answers)
		}
	}
	resp, err := http.Get("http://" + svc.Ops.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\npusher_prunes_total 0\n") {
		t.Errorf("/metrics counts prunes: %s", grep(string(body), "pusher_prunes_total"))
	}

	// And every client receives the next request.
	s.Send(t, `{"data":"final"}`)
	for _, c := range conns {
		awaitFrame(t, c, `"final"`, time.Minute)
	}
}

// queued returns the messages of the stack's queue, in flight or not (goaws counts both
// in ApproximateNumberOfMessages).
func queued(s *stacktest.Stack) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.SQS.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(s.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"},
	})
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
}

// awaitFrame reads c's frames until want, failing the test after limit: a request that
// follows many others may take a while on a loaded machine.
func awaitFrame(t *testing.T, c *gatewaytest.Client, want string, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case f, ok := <-c.Frames:
			if !ok {
				t.Fatalf("%s: connection closed before %s", c.Name, want)
			}
			if f == want {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no %s in %s", c.Name, want, limit)
		}
	}
}

// grep returns the lines of text that hold s.
func grep(text, s string) string {
	var lines []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return strings.Join(lines, "; ")
}
