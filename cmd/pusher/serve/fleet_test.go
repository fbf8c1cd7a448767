package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

// The fleet of TestFleetBroadcast: three `pusher serve` processes that split a
// broadcast over more than fleetSplitAbove connections into tasks of fleetSegmentSize,
// each working on at most fleetConcurrency SQS messages at once: fewer than the tasks,
// so that no process can hold them all and each takes a share.
const (
	fleetClients     = 5000
	fleetProcesses   = 3
	fleetSplitAbove  = 1000
	fleetSegmentSize = 250 // 20 tasks
	fleetConcurrency = 4
	// fleetPostLatency is the least time the Management API takes to answer a post
	// (plus up to as much again): a broadcast lasts seconds, long enough to kill an
	// instance in the middle of it.
	fleetPostLatency = 20 * time.Millisecond
	// fleetVisibility is the queue's visibility timeout: what a SIGKILL leaves comes
	// back after it. See the reliability table's visibility for why not the stack's 2s.
	fleetVisibility = 10 * time.Second
)

// TestFleetBroadcast is issue 11's test: three `pusher serve` processes on goaws and
// dynalite share a broadcast to 5,000 live WebSocket clients of `pusher gateway`. The
// broadcast is split into segment tasks on the notifications queue; each process takes
// at least one; each client gets the frame exactly once. Then another broadcast, with
// one process killed (SIGKILL) while it works on its tasks: no client misses the
// frame; the frames of the killed process's tasks that it had already posted come
// twice, once from it and once from the process that takes the task again; the test
// reports how many.
func TestFleetBroadcast(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 clients and three processes: not in -short")
	}
	bin := stacktest.BuildPusher(t)
	s := stacktest.New(t)
	// The gateway runs in a process of its own: 5,000 server connections beside 5,000
	// clients would pass the race detector's 8,128 goroutines.
	gw := startGateway(t, bin)
	faults := awstest.NewFaults(t, gw)
	faults.Fail(func(string, int) int {
		time.Sleep(fleetPostLatency + time.Duration(time.Now().UnixNano()%int64(fleetPostLatency))) // the gateway's latency, not a wait for an event
		return 0
	})
	queue := awstest.CreateQueue(t, s.SQS, "notifications-fleet", map[string]string{"VisibilityTimeout": fmt.Sprint(fleetVisibility.Seconds())})

	start := time.Now()
	clients := connectFleetClients(t, strings.TrimPrefix(gw, "http://"), fleetClients)
	t.Logf("%d clients connected in %s", len(clients.all), time.Since(start).Round(time.Millisecond))

	env := map[string]string{
		"NOTIFICATIONS_QUEUE_URL": queue,
		"APIGW_ENDPOINT":          faults.URL,
		"BROADCAST_SPLIT_ABOVE":   fmt.Sprint(fleetSplitAbove),
		"BROADCAST_SEGMENT_SIZE":  fmt.Sprint(fleetSegmentSize),
		"CONCURRENCY":             fmt.Sprint(fleetConcurrency),
		"POST_CONCURRENCY":        "16",
		"LOG_LEVEL":               "info",
	}
	var procs []*stacktest.Process
	for i := range fleetProcesses {
		procs = append(procs, s.StartServe(t, fmt.Sprintf("serve #%d", i+1), bin, env))
	}
	const tasks = fleetClients / fleetSegmentSize

	t.Run("shared", func(t *testing.T) {
		start := time.Now()
		sendBroadcast(t, s, queue, 1, "fleet-1")
		clients.await(t, 1, fleetClients, time.Minute)
		took := time.Since(start)
		waitQueueEmpty(t, s, queue)
		if lost, dup := clients.count(1); lost != 0 || dup != 0 {
			t.Errorf("%d clients missed the frame, %d got it twice", lost, dup)
		}
		logs := fleetLogs(t, procs, "fleet-1")
		if logs.split != tasks {
			t.Errorf("the request's log line says split=%d, want %d", logs.split, tasks)
		}
		if got := len(logs.settled); got != tasks {
			t.Errorf("%d segments settled, want %d: %v", got, tasks, logs.settled)
		}
		for seg, n := range logs.settled {
			if n != 1 {
				t.Errorf("segment %s settled %d times", seg, n)
			}
		}
		for i, n := range logs.perProcess {
			if n == 0 {
				t.Errorf("%s settled no task", procs[i].Name)
			}
		}
		t.Logf("%d frames in %s (%.0f/s) through %d processes, tasks settled by each: %v",
			fleetClients, took.Round(time.Millisecond), fleetClients/took.Seconds(), fleetProcesses, logs.perProcess)
	})

	t.Run("one killed", func(t *testing.T) {
		start := time.Now()
		sendBroadcast(t, s, queue, 2, "fleet-2")
		// Kill a process that holds tasks in the works, once a fifth of the frames
		// are out.
		victim, at := -1, int64(0)
		stacktest.EventuallyWithin(t, time.Minute, "a process working on a task once a fifth of the frames are out", func() bool {
			if clients.frames(2) < fleetClients/5 {
				return false
			}
			busiest := 0
			for i, p := range procs {
				if n := inFlight(p.Output(), "fleet-2"); n > busiest {
					victim, busiest = i, n
				}
			}
			return busiest > 0
		})
		at = clients.frames(2)
		procs[victim].Kill()
		killedAt := time.Since(start)
		clients.await(t, 2, fleetClients, 2*time.Minute)
		took := time.Since(start)
		waitQueueEmpty(t, s, queue)
		lost, dup := clients.count(2)
		if lost != 0 {
			t.Errorf("%d clients missed the frame", lost)
		}
		var survivors []*stacktest.Process
		for i, p := range procs {
			if i != victim {
				survivors = append(survivors, p)
			}
		}
		logs := fleetLogs(t, survivors, "fleet-2")
		t.Logf("%s killed %s in, at %d of %d frames; all delivered after %s; %d clients got the frame twice (%.1f%%); the survivors settled %d segments (%v each)",
			procs[victim].Name, killedAt.Round(time.Millisecond), at, fleetClients, took.Round(time.Millisecond), dup,
			100*float64(dup)/fleetClients, len(logs.settled), logs.perProcess)
	})
}

// startGateway runs `pusher gateway` on the stack's table in a child process and returns
// its Management API's URL.
func startGateway(t *testing.T, bin string) string {
	t.Helper()
	p := stacktest.StartProcess(t, "gateway", bin, []string{"gateway"}, map[string]string{
		"CONNECTIONS_TABLE_NAME": stacktest.Table,
		"GATEWAY_LISTEN":         "127.0.0.1:0",
	})
	var url string
	stacktest.EventuallyWithin(t, 30*time.Second, "pusher gateway listening", func() bool {
		_, rest, ok := strings.Cut(p.Output(), "pusher gateway listening on ")
		if ok {
			url, _, ok = strings.Cut(rest, ",")
		}
		return ok
	})
	return url
}

// fleetClients are live WebSocket clients, each of a user of its own, and the frames
// they got, by broadcast id.
type fleetClientSet struct {
	all []*fleetClient
}

type fleetClient struct {
	got [3]atomic.Int32 // frames of broadcast 1 and 2
}

// connectFleetClients connects n clients to the gateway at addr, 64 at a time, and
// reads their frames until the test ends.
func connectFleetClients(t *testing.T, addr string, n int) *fleetClientSet {
	t.Helper()
	set := &fleetClientSet{all: make([]*fleetClient, n)}
	var wg sync.WaitGroup
	var failed atomic.Int32
	slots := make(chan struct{}, 64)
	for i := range n {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://%s/?user_id=fleet-%04d", addr, i), nil)
			if err != nil {
				if failed.Add(1) == 1 {
					t.Errorf("connect client %d: %v", i, err)
				}
				return
			}
			t.Cleanup(func() { _ = ws.CloseNow() })
			c := &fleetClient{}
			set.all[i] = c
			go func() {
				for {
					_, frame, err := ws.Read(context.Background())
					if err != nil {
						return
					}
					var f struct{ ID int }
					if json.Unmarshal(frame, &f) == nil && f.ID > 0 && f.ID < len(c.got) {
						c.got[f.ID].Add(1)
					}
				}
			}()
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d clients could not connect", failed.Load())
	}
	return set
}

// frames returns how many clients got broadcast id at least once.
func (s *fleetClientSet) frames(id int) int64 {
	var n int64
	for _, c := range s.all {
		if c.got[id].Load() > 0 {
			n++
		}
	}
	return n
}

// count returns how many clients never got broadcast id, and how many got it more than
// once.
func (s *fleetClientSet) count(id int) (lost, dup int) {
	for _, c := range s.all {
		switch n := c.got[id].Load(); {
		case n == 0:
			lost++
		case n > 1:
			dup++
		}
	}
	return lost, dup
}

// await waits until want clients got broadcast id, failing the test after limit.
func (s *fleetClientSet) await(t *testing.T, id int, want int64, limit time.Duration) {
	t.Helper()
	stacktest.EventuallyWithin(t, limit, fmt.Sprintf("%d clients got broadcast %d", want, id), func() bool {
		return s.frames(id) >= want
	})
}

// sendBroadcast sends, as a backend would, a broadcast whose data names its id.
func sendBroadcast(t *testing.T, s *stacktest.Stack, queue string, id int, corr string) {
	t.Helper()
	_, err := s.SQS.SendMessage(context.Background(), &awssqs.SendMessageInput{
		QueueUrl:    aws.String(queue),
		MessageBody: aws.String(fmt.Sprintf(`{"data":{"id":%d}}`, id)),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"correlation_id": {DataType: aws.String("String"), StringValue: aws.String(corr)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitQueueEmpty waits until every message of the queue is deleted (goaws counts those
// in flight too): each task settled.
func waitQueueEmpty(t *testing.T, s *stacktest.Stack, queue string) {
	t.Helper()
	stacktest.EventuallyWithin(t, time.Minute, "the queue is empty", func() bool { return s.Queued(t, queue) == 0 })
}

// fleetLog is what the processes' log lines say of one request and its tasks.
type fleetLog struct {
	split      int            // the request's split=
	settled    map[string]int // times each segment's task settled
	perProcess []int          // tasks settled by each process
}

// logLine is the part of a `pusher serve` log line the fleet test reads.
type logLine struct {
	Msg           string `json:"msg"`
	CorrelationID string `json:"correlation_id"`
	Segment       string `json:"segment"`
	Split         int    `json:"split"`
}

// fleetLogs reads the log lines of procs about the request of correlation id corr.
func fleetLogs(t *testing.T, procs []*stacktest.Process, corr string) fleetLog {
	t.Helper()
	l := fleetLog{settled: map[string]int{}, perProcess: make([]int, len(procs))}
	for i, p := range procs {
		for line := range strings.Lines(p.Output()) {
			var ll logLine
			if json.Unmarshal([]byte(line), &ll) != nil || ll.CorrelationID != corr {
				continue
			}
			switch {
			case ll.Msg == "request not settled":
				t.Errorf("%s: %s", p.Name, line)
			case ll.Msg != "request settled":
			case ll.Segment != "":
				l.settled[ll.Segment]++
				l.perProcess[i]++
			default:
				l.split += ll.Split
			}
		}
	}
	return l
}

// inFlight counts the tasks of corr that output says were received and not settled.
func inFlight(output, corr string) int {
	n := 0
	for line := range strings.Lines(output) {
		var ll logLine
		if !strings.Contains(line, corr) || json.Unmarshal([]byte(line), &ll) != nil || ll.CorrelationID != corr || ll.Segment == "" {
			continue
		}
		switch ll.Msg {
		case "segment task received":
			n++
		case "request settled", "request not settled":
			n--
		}
	}
	return n
}
