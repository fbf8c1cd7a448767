//go:build linux

package function_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

// The function and load of BenchmarkCost.
const (
	// costMemoryMB is deploy/terraform's default memory_size, and costTimeout its
	// default timeout in seconds.
	costMemoryMB = 256
	costTimeout  = 30
	// oneVCPUMB is the memory at which Lambda gives a function one vCPU ("Configure
	// Lambda function memory", Lambda Developer Guide); below it, CPU in proportion.
	oneVCPUMB   = 1769
	costClients = 1000
	costUsers   = costClients / 2 // two connections each
	// costBatch is deploy/terraform's default batch_size: records of one invocation.
	costBatch          = 10
	costMulticastUsers = 3
	// costPostLatency is how long the Management API takes to answer a post.
	costPostLatency = 20 * time.Millisecond
)

// report matches the RIE's REPORT line: its Duration and Billed Duration. Its Max
// Memory Used is not measured: the RIE prints Memory Size there.
var report = regexp.MustCompile(`REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms\s+Billed Duration: ([0-9]+) ms`)

// BenchmarkCost measures what the Lambda function costs to run: bootstrap, built as a
// deployment builds it, under the Lambda Runtime Interface Emulator with the module's
// default memory size (AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256), invoked with SQS batches,
// posting to 1,000 live WebSocket clients of `pusher gateway` (500 users of two
// connections) through a Management API that answers each post in 20 ms.
//
//	go test -run '^$' -bench Cost -benchtime 20x ./cmd/pusher-lambda/function/
//
// An op of broadcast is one invocation of one record, a broadcast to the 1,000
// connections; of multicast, one invocation of a batch of ten records, each a
// multicast of three users (60 frames). The first invocation, cold, is not counted.
//
// It reports the RIE's billed duration per 1,000 frames, and bootstrap's CPU time
// (user and system, from /proc) per 1,000 frames. The RIE does not cap the CPU to the
// memory size's share: the bootstrap may use both cores of this machine, where Lambda
// gives a 256 MB function 256/1,769 of one vCPU. So it also reports
// est-billed-ms/1k-frames: per invocation the larger of the billed duration and the CPU
// time divided by that share, the least a CPU-bound invocation would last on Lambda.
// peak-rss-MB is bootstrap's peak resident memory (VmHWM), what Max Memory Used would
// say.
func BenchmarkCost(b *testing.B) {
	bootstrap := awstest.BuildBootstrap(b, "./cmd/pusher-lambda")
	s := stacktest.New(b)
	s.Faults.Fail(func(string, int) int {
		time.Sleep(costPostLatency) // the gateway's latency, not a wait for an event
		return 0
	})
	clients := s.ConnectCounting(b, costClients, func(i int) string { return fmt.Sprintf("user_id=user-%04d", i%costUsers) })
	rie := awstest.StartRIE(b, bootstrap, map[string]string{
		"APIGW_ENDPOINT":                  s.Faults.URL,
		"CONNECTIONS_TABLE_NAME":          stacktest.Table,
		"POISON_QUEUE_URL":                s.PoisonURL,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(costMemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(costTimeout),
		"LOG_LEVEL":                       "warn",
	})
	inv := &costInvoker{rie: rie, clients: clients}
	inv.invoke(b, costEvent(`{"users":["user-0000"],"data":{"warm":true}}`), 2) // cold start
	pid, err := stacktest.ChildNamed(rie.Pid(), "bootstrap")
	if err != nil {
		b.Fatal(err)
	}
	inv.bootstrap = pid

	b.Run("broadcast", func(b *testing.B) {
		inv.run(b, func(op int) ([]byte, int) {
			return costEvent(fmt.Sprintf(`{"data":{"n":%d}}`, op)), costClients
		})
	})
	b.Run("multicast", func(b *testing.B) {
		next := 0
		inv.run(b, func(op int) ([]byte, int) {
			bodies := make([]string, costBatch)
			for i := range bodies {
				var users []string
				for range costMulticastUsers {
					users = append(users, strconv.Quote(fmt.Sprintf("user-%04d", next%costUsers)))
					next++
				}
				bodies[i] = fmt.Sprintf(`{"users":[%s],"data":{"n":%d}}`, strings.Join(users, ","), op)
			}
			return costEvent(bodies...), costBatch * costMulticastUsers * costClients / costUsers
		})
	})
}

// costInvoker invokes the function under the RIE and adds up what the invocations
// cost.
type costInvoker struct {
	rie       *awstest.RIE
	clients   *stacktest.FrameCounter
	bootstrap int // pid
	reports   int // REPORT lines read so far
}

// run makes b.N invocations, with the events op returns, each expected to bring the
// clients frames frames, and reports what they cost.
func (c *costInvoker) run(b *testing.B, op func(i int) (event []byte, frames int)) {
	var billed, estimated, duration float64 // ms
	var cpu time.Duration
	frames := 0
	b.ResetTimer()
	for i := range b.N {
		event, n := op(i)
		before := c.cpu(b)
		d, bd := c.invoke(b, event, n)
		used := c.cpu(b) - before
		cpu += used
		frames += n
		duration += d
		billed += bd
		estimated += max(bd, float64(used.Milliseconds())*oneVCPUMB/costMemoryMB)
	}
	b.StopTimer()
	rss, err := stacktest.PeakRSS(c.bootstrap)
	if err != nil {
		b.Fatal(err)
	}
	per1k := 1000 / float64(frames)
	b.ReportMetric(billed*per1k, "billed-ms/1k-frames")
	b.ReportMetric(float64(cpu.Milliseconds())*per1k, "cpu-ms/1k-frames")
	b.ReportMetric(estimated*per1k, "est-billed-ms/1k-frames")
	b.ReportMetric(billed/float64(b.N), "billed-ms/invocation")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	b.Logf("%d invocations, %d frames: duration %.0f ms, billed %.0f ms, CPU %s, estimated at %d MB %.0f ms (%.2f GB-s per 1,000 frames)",
		b.N, frames, duration, billed, cpu, costMemoryMB, estimated, estimated*per1k/1000*costMemoryMB/1024)
}

// invoke invokes the function with event, checks that every record settled and that
// the clients got frames more frames, and returns the RIE's Duration and Billed
// Duration of the invocation.
func (c *costInvoker) invoke(b *testing.B, event []byte, frames int) (duration, billed float64) {
	b.Helper()
	want := c.clients.Frames() + int64(frames)
	body, _ := c.rie.Invoke(b, event)
	var resp events.SQSEventResponse
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.BatchItemFailures) > 0 {
		b.Fatalf("invocation answered %s", body)
	}
	c.clients.Await(b, want, time.Minute)
	var m []string
	stacktest.Eventually(b, "the invocation's REPORT line", func() bool {
		all := report.FindAllStringSubmatch(c.rie.Output(), -1)
		if len(all) <= c.reports {
			return false
		}
		m = all[c.reports]
		c.reports++
		return true
	})
	duration, _ = strconv.ParseFloat(m[1], 64)
	billed, _ = strconv.ParseFloat(m[2], 64)
	return duration, billed
}

// cpu returns the CPU time bootstrap has spent so far.
func (c *costInvoker) cpu(b *testing.B) time.Duration {
	b.Helper()
	d, err := stacktest.ProcessCPU(c.bootstrap)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// costEvent returns an SQS event of one record a body, as Lambda's event source mapping
// sends it.
func costEvent(bodies ...string) []byte {
	var e events.SQSEvent
	for i, body := range bodies {
		e.Records = append(e.Records, events.SQSMessage{
			MessageId:      fmt.Sprintf("cost-%d-%d", time.Now().UnixNano(), i),
			ReceiptHandle:  "cost",
			Body:           body,
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10)},
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:notifications",
			AWSRegion:      "us-east-1",
		})
	}
	out, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return out
}
