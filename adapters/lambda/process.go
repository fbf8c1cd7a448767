package lambda

import (
	"context"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// processAll runs the requests through the pipeline at once and returns, for each, the
// error that leaves it unsettled. A request still in flight DeadlineMargin before the
// invocation's deadline is given up and reported unsettled, so that the response makes
// it back before Lambda ends the invocation; its work goes on in the pipeline.
func (f *Function) processAll(ctx context.Context, msgs []*message.Message) []error {
	ctx, cancel := f.cutoff(ctx)
	defer cancel()
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, msg := range msgs {
		wg.Go(func() { _, errs[i] = f.pipeline.Process(ctx, msg) })
	}
	wg.Wait()
	return errs
}

// cutoff returns ctx ending DeadlineMargin before ctx's deadline, if it has one.
func (f *Function) cutoff(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-f.cfg.DeadlineMargin))
	}
	return context.WithCancel(ctx)
}

// logInvocation logs the one line of an invocation.
func (f *Function) logInvocation(ctx context.Context, event string, start time.Time, errs []error) {
	failures := 0
	for _, err := range errs {
		if err != nil {
			failures++
		}
	}
	attrs := []any{"event", event, "records", len(errs), "settled", len(errs) - failures,
		"failures", failures, "elapsed_ms", time.Since(start).Milliseconds()}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, "aws_request_id", lc.AwsRequestID)
	}
	if failures > 0 {
		f.logger.Warn("invocation", attrs...)
		return
	}
	f.logger.Info("invocation", attrs...)
}
