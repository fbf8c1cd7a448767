package pipeline

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// splitKey tells the resolve stage's note into how many tasks a request was split.
const splitKey = "split_tasks"

// SplitTo makes the resolve stage split a broadcast or an exclusion over a store larger
// than Config.Split.Above into segment tasks on q, which every reader of q shares. The
// store must estimate its size (handlers.ConnectionCounter) and scan a segment
// (handlers.SegmentScanner). Without Split.Above, or without SplitTo, nothing is split.
// Call it before Run.
func (p *Pipeline) SplitTo(q TaskQueue) error {
	if p.cfg.Split.Above == 0 || q == nil {
		return nil
	}
	counter, ok := p.store.(handlers.ConnectionCounter)
	if _, scans := p.store.(handlers.SegmentScanner); !ok || !scans {
		return fmt.Errorf("split broadcasts above %d connections: the store %T does not estimate its size and scan a segment", p.cfg.Split.Above, p.store)
	}
	p.split = &splitter{
		cfg: p.cfg.Split, queue: q, logger: p.logger,
		estimates: newEstimates(counter, p.cfg.Split.EstimateMaxAge, p.logger),
	}
	return nil
}

// splitter decides whether to split a request and puts its tasks on the queue.
type splitter struct {
	cfg       SplitConfig
	queue     TaskQueue
	estimates *estimates
	logger    *slog.Logger
}

// splitResolve resolves req, a broadcast or an exclusion (not a segment task), by
// splitting it when the splitter says so, or when cursor says it was split already. It
// returns false when req is to be resolved as a whole instead, which the cursor allows.
// The cursor records the decision and the tasks still to enqueue, so that a retry
// enqueues none twice and keeps the number of segments: tasks of another total would
// overlap those on the queue.
func (p *Pipeline) splitResolve(msg *message.Message, r handlers.Resolver, req handlers.Request, cursor string, emit handlers.EmitFunc) (bool, error) {
	if req.Kind() == handlers.Multicast || req.Segment != nil {
		return false, nil
	}
	st, split := handlers.ParseSplitCursor(cursor)
	if !split {
		if cursor != "" || p.split == nil {
			return false, nil // not to split, or a scan under way
		}
		n, ok := p.split.decide(msg.Context(), msg.Metadata.Get(RequestIDKey))
		if !ok {
			return false, nil
		}
		st = handlers.NewSplitState(n)
	}
	if !st.Here && p.split == nil {
		// Split by a pipeline with a task queue, replayed by one without: the rest is
		// resolved here.
		st.Here = true
	}
	if !st.Here {
		if err := p.enqueueTasks(msg, req, &st); err == nil || !st.Here {
			return st.Total > 0, err
		}
	}
	return true, p.resolveHere(msg, r, req, st, emit)
}

// decide returns into how many segment tasks to split a broadcast: none (false) unless
// the store's estimate is over Above, else one per SegmentSize connections, at most
// MaxSegments, at least 2. An estimate that fails is no split.
func (s *splitter) decide(ctx context.Context, requestID string) (int, bool) {
	n, err := s.estimates.connections(ctx)
	if err != nil {
		s.logger.Warn("estimate the connections: resolving the broadcast here, not split", "request_id", requestID, "error", err)
		return 0, false
	}
	tasks, ok := s.cfg.tasks(n)
	if ok {
		s.logger.Debug("splitting a broadcast", "request_id", requestID, "estimate", n, "segments", tasks)
	}
	return tasks, ok
}

// tasks returns into how many tasks to split a broadcast over about n connections, and
// false if it is not to be split.
func (c SplitConfig) tasks(n int) (int, bool) {
	if c.Above <= 0 || n <= c.Above {
		return 0, false
	}
	tasks := min((n+c.SegmentSize-1)/c.SegmentSize, c.MaxSegments)
	return tasks, tasks >= 2
}
