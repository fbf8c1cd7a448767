package function

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// errSkipped is the error of a FIFO record left alone because an earlier record of its
// message group was not settled.
var errSkipped = errors.New("not worked on: an earlier message of its FIFO message group is not settled")

// processAll runs the requests through the pipeline and returns, for each, the error that
// leaves it unsettled. A request of a FIFO queue's message group (groups[i] not empty)
// waits for the one before it in the group, and once one is not settled the rest of its
// group are not worked on and are reported unsettled too, so that SQS delivers them
// again in order. That is AWS's rule for partial batch responses from a FIFO queue (stop
// at the first failure, report it and every message after it: "Handling errors for an
// SQS event source in Lambda", docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html),
// applied per message group, the unit of FIFO order, as Powertools for AWS Lambda's
// SqsFifoPartialProcessor does with skipGroupOnError; other requests are worked on at once.
//
// Whatever is still in flight DeadlineMargin (at most half the time the invocation has
// left) before the invocation's deadline is cut short and reported unsettled, so that the response makes it back before Lambda ends
// the invocation: the pipeline cancels that work, which would otherwise be frozen with
// the execution environment and resume, delivering what SQS is about to deliver again,
// at the next invocation.
func (f *Function) processAll(ctx context.Context, msgs []*message.Message, groups, shards []string) []error {
	ctx, cancel := f.cutoff(ctx)
	defer cancel()
	errs := make([]error, len(msgs))
	stop := newShardStops(shards)
	inGroup := map[string][]int{}
	var wg sync.WaitGroup
	for i := range msgs {
		if g := at(groups, i); g != "" {
			inGroup[g] = append(inGroup[g], i)
			continue
		}
		wg.Go(func() { _, errs[i] = f.pipeline.Process(ctx, msgs[i]) })
	}
	for _, order := range inGroup {
		wg.Go(func() {
			for n, i := range order {
				if stop.after(i) {
					errs[i] = errShardStopped
				} else if _, errs[i] = f.pipeline.Process(ctx, msgs[i]); errs[i] != nil {
					stop.failed(i)
				}
				if errs[i] != nil {
					for _, j := range order[n+1:] {
						errs[j] = errSkipped
					}
					return
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// errShardStopped is the error of a stream's record left alone because an earlier
// record of its shard is not settled: Lambda retries from that one.
var errShardStopped = errors.New("not worked on: an earlier record of its shard is not settled")

// shardStops knows, for each shard of a stream's batch, the first of its records whose
// work failed, so that the shard's records after it are not started: Lambda delivers
// them again from there.
type shardStops struct {
	shards []string
	first  map[string]*atomic.Int64
}

func newShardStops(shards []string) shardStops {
	s := shardStops{shards: shards, first: map[string]*atomic.Int64{}}
	for _, shard := range shards {
		if s.first[shard] == nil {
			s.first[shard] = new(atomic.Int64)
			s.first[shard].Store(math.MaxInt64)
		}
	}
	return s
}

// after reports whether record i comes after a failed record of its shard.
func (s shardStops) after(i int) bool {
	first := s.first[at(s.shards, i)]
	return first != nil && first.Load() < int64(i)
}

// failed records that record i failed.
func (s shardStops) failed(i int) {
	first := s.first[at(s.shards, i)]
	for first != nil {
		old := first.Load()
		if old <= int64(i) || first.CompareAndSwap(old, int64(i)) {
			return
		}
	}
}

// at returns list[i], "" past its end (a nil list).
func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// cutoff returns ctx ending DeadlineMargin before ctx's deadline, if it has one. A
// margin over half the time the invocation has left is cut to half of it, with a
// warning: a DEADLINE_MARGIN at or over the function's timeout would otherwise end every
// invocation before it began, and fail every record at every delivery.
func (f *Function) cutoff(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := f.cfg.DeadlineMargin
	if left := time.Until(d); margin > left/2 {
		margin = max(left/2, 0)
		f.logger.Warn("DEADLINE_MARGIN is over half the invocation's time: half of it is used",
			"deadline_margin", f.cfg.DeadlineMargin.String(), "remaining", left.Round(time.Millisecond).String(),
			"margin_used", margin.Round(time.Millisecond).String())
	}
	return context.WithDeadline(ctx, d.Add(-margin))
}

// logInvocation logs the one line of an invocation.
func (f *Function) logInvocation(ctx context.Context, event string, start time.Time, errs []error, extra ...any) {
	failures := 0
	for _, err := range errs {
		if err != nil {
			failures++
		}
	}
	attrs := []any{"event", event, "records", len(errs), "settled", len(errs) - failures,
		"failures", failures, "elapsed_ms", time.Since(start).Milliseconds()}
	attrs = append(attrs, extra...)
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, "aws_request_id", lc.AwsRequestID)
	}
	if failures > 0 {
		f.logger.Warn("invocation", attrs...)
		return
	}
	f.logger.Info("invocation", attrs...)
}
