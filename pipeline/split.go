package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TaskQueue is where the resolve stage puts the segment tasks of a broadcast it splits:
// the queue the pipeline's sources read, so that every instance or invocation reading
// it takes a share. A task is a request (its payload) with the correlation id and
// SegmentKey in its metadata.
type TaskQueue interface {
	// Enqueue puts each of tasks on the queue and returns, for each in order, nil once
	// it is there, or why it is not: an error for which handlers.IsPermanent holds
	// says that the task can never be (too large for the queue, say).
	Enqueue(ctx context.Context, tasks []*message.Message) []error
}

// SegmentKey is the segment a segment task carries, "index/total", for the queue's
// attributes and the logs.
const SegmentKey = "segment"

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
	p.split = &splitter{cfg: p.cfg.Split, queue: q, counter: counter, logger: p.logger, asking: make(chan struct{}, 1)}
	return nil
}

// splitter decides whether to split a request and puts its tasks on the queue.
type splitter struct {
	cfg     SplitConfig
	queue   TaskQueue
	counter handlers.ConnectionCounter
	logger  *slog.Logger

	asking   chan struct{} // held while the estimate is asked for: one ask at a time
	asked    time.Time     // when the store was last asked, whatever it answered
	estimate int           // its last estimate, if known
	known    bool
	err      error // why the last ask failed, while no estimate is known
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

// enqueueTasks puts the tasks st still holds on the queue and records what it could
// in st and in msg's cursor. A refusal for good of tasks that some of the split's are
// already on the queue turns st to resolving the rest here; of all of them, to
// resolving the request as a whole (st.Total is then 0): it is not split.
func (p *Pipeline) enqueueTasks(msg *message.Message, req handlers.Request, st *handlers.SplitState) error {
	ctx := msg.Context()
	segments := st.PendingSegments()
	tasks := make([]*message.Message, len(segments))
	for i, seg := range segments {
		t, err := segmentTask(msg, req, handlers.Segment{Index: seg, Total: st.Total})
		if err != nil {
			return err
		}
		tasks[i] = t
	}
	errs := p.split.queue.Enqueue(ctx, tasks)
	if len(errs) != len(tasks) {
		return fmt.Errorf("enqueue %d segment tasks: the queue answered for %d", len(tasks), len(errs))
	}
	var failed []int
	var causes []error
	permanent := true
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed = append(failed, segments[i])
		if len(causes) < 3 {
			causes = append(causes, fmt.Errorf("segment %d/%d: %w", segments[i], st.Total, err))
		}
		permanent = permanent && handlers.IsPermanent(err)
	}
	st.Enqueued += len(tasks) - len(failed)
	st.Pending = handlers.SpansOf(failed)
	if len(failed) == 0 {
		msg.Metadata.Set(CursorKey, st.Cursor())
		msg.Metadata.Set(splitKey, strconv.Itoa(st.Enqueued))
		return nil
	}
	err := fmt.Errorf("enqueue %d of %d segment tasks: %w", len(failed), len(tasks), errors.Join(causes...))
	switch {
	case permanent && st.Enqueued == 0:
		p.logger.Warn("segment tasks refused by the queue: resolving the broadcast here", "request_id", msg.Metadata.Get(RequestIDKey),
			"correlation_id", msg.Metadata.Get(CorrelationIDKey), "segments", st.Total, "error", err)
		st.Total = 0
		msg.Metadata.Set(CursorKey, "")
		return nil
	case permanent:
		p.logger.Warn("segment tasks refused by the queue: resolving them here", "request_id", msg.Metadata.Get(RequestIDKey),
			"correlation_id", msg.Metadata.Get(CorrelationIDKey), "segments", st.Total, "refused", len(failed), "error", err)
		st.Here = true
	}
	if st.Enqueued > 0 || st.Here {
		msg.Metadata.Set(CursorKey, st.Cursor())
	}
	return err
}

// resolveHere resolves the segments st holds here, one after the other, each from its
// cursor, emitting each page with the state that resumes after it.
func (p *Pipeline) resolveHere(msg *message.Message, r handlers.Resolver, req handlers.Request, st handlers.SplitState, emit handlers.EmitFunc) error {
	msg.Metadata.Set(CursorKey, st.Cursor())
	for len(st.Pending) > 0 {
		seg := st.Pending[0].From
		err := r.ResolveSegment(msg.Context(), req, handlers.Segment{Index: seg, Total: st.Total}, st.Inner, func(page handlers.Recipients, next string) error {
			after := st.After(next)
			if err := emit(page, after.Cursor()); err != nil {
				return err
			}
			st = after
			return nil
		})
		if err != nil {
			return err
		}
		if len(st.Pending) > 0 && st.Pending[0].From == seg {
			st = st.After("") // the segment ended without a last page
		}
		msg.Metadata.Set(CursorKey, st.Cursor())
	}
	msg.Metadata.Set(splitKey, strconv.Itoa(st.Enqueued))
	return nil
}

// segmentTask returns the task of seg of req: req with the segment, its data byte for
// byte, and msg's correlation id.
func segmentTask(msg *message.Message, req handlers.Request, seg handlers.Segment) (*message.Message, error) {
	req.Segment = &seg
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the frame is the data as the request gave it
	if err := enc.Encode(req); err != nil {
		return nil, handlers.Permanent(fmt.Errorf("encode segment task %s: %w", seg, err))
	}
	t := message.NewMessage(watermill.NewUUID(), bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	t.Metadata.Set(CorrelationIDKey, msg.Metadata.Get(CorrelationIDKey))
	t.Metadata.Set(SegmentKey, seg.String())
	return t, nil
}

// decide returns into how many segment tasks to split a broadcast: none (false) unless
// the store's estimate is over Above, else one per SegmentSize connections, at most
// MaxSegments, at least 2. An estimate that fails is no split.
func (s *splitter) decide(ctx context.Context, requestID string) (int, bool) {
	n, err := s.estimateConnections(ctx)
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

// estimateTimeout bounds one ask for the store's estimate, which the other broadcasts
// of the instance wait for.
const estimateTimeout = 10 * time.Second

// estimateConnections returns the store's estimate, asking it at most once every
// EstimateMaxAge, whether it answered or failed. Once one is known, a failed ask keeps
// it, as the best guess there is.
func (s *splitter) estimateConnections(ctx context.Context) (int, error) {
	select {
	case s.asking <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-s.asking }()
	if s.asked.IsZero() || time.Since(s.asked) >= s.cfg.EstimateMaxAge {
		s.asked = time.Now()
		ctx, cancel := context.WithTimeout(ctx, estimateTimeout)
		n, err := s.counter.EstimateConnections(ctx)
		cancel()
		switch {
		case err == nil:
			s.estimate, s.known, s.err = n, true, nil
		case s.known:
			s.logger.Warn("estimate the connections: keeping the last estimate", "estimate", s.estimate, "error", err)
		default:
			s.err = err
		}
	}
	if !s.known {
		return 0, s.err
	}
	return s.estimate, nil
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
