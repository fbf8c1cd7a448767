package pipeline

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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
	st, split := parseSplitCursor(cursor)
	if !split {
		if cursor != "" || p.split == nil {
			return false, nil // not to split, or a scan under way
		}
		n, ok := p.split.decide(msg.Context(), msg.Metadata.Get(RequestIDKey))
		if !ok {
			return false, nil
		}
		st = newSplitState(n)
	}
	if !st.here && p.split == nil {
		// Split by a pipeline with a task queue, replayed by one without: the rest is
		// resolved here.
		st.here = true
	}
	if !st.here {
		if err := p.enqueueTasks(msg, req, &st); err == nil || !st.here {
			return st.total > 0, err
		}
	}
	return true, p.resolveHere(msg, r, req, st, emit)
}

// enqueueTasks puts the tasks st still holds on the queue and records what it could
// in st and in msg's cursor. A refusal for good of tasks that some of the split's are
// already on the queue turns st to resolving the rest here; of all of them, to
// resolving the request as a whole (st.total is then 0): it is not split.
func (p *Pipeline) enqueueTasks(msg *message.Message, req handlers.Request, st *splitState) error {
	ctx := msg.Context()
	segments := st.pendingSegments()
	tasks := make([]*message.Message, len(segments))
	for i, seg := range segments {
		t, err := segmentTask(msg, req, handlers.Segment{Index: seg, Total: st.total})
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
			causes = append(causes, fmt.Errorf("segment %d/%d: %w", segments[i], st.total, err))
		}
		permanent = permanent && handlers.IsPermanent(err)
	}
	st.enqueued += len(tasks) - len(failed)
	st.pending = spansOf(failed)
	if len(failed) == 0 {
		msg.Metadata.Set(CursorKey, st.encode())
		msg.Metadata.Set(splitKey, strconv.Itoa(st.enqueued))
		return nil
	}
	err := fmt.Errorf("enqueue %d of %d segment tasks: %w", len(failed), len(tasks), errors.Join(causes...))
	switch {
	case permanent && st.enqueued == 0:
		p.logger.Warn("segment tasks refused by the queue: resolving the broadcast here", "request_id", msg.Metadata.Get(RequestIDKey),
			"correlation_id", msg.Metadata.Get(CorrelationIDKey), "segments", st.total, "error", err)
		st.total = 0
		msg.Metadata.Set(CursorKey, "")
		return nil
	case permanent:
		p.logger.Warn("segment tasks refused by the queue: resolving them here", "request_id", msg.Metadata.Get(RequestIDKey),
			"correlation_id", msg.Metadata.Get(CorrelationIDKey), "segments", st.total, "refused", len(failed), "error", err)
		st.here = true
	}
	if st.enqueued > 0 || st.here {
		msg.Metadata.Set(CursorKey, st.encode())
	}
	return err
}

// resolveHere resolves the segments st holds here, one after the other, each from its
// cursor, emitting each page with the state that resumes after it.
func (p *Pipeline) resolveHere(msg *message.Message, r handlers.Resolver, req handlers.Request, st splitState, emit handlers.EmitFunc) error {
	msg.Metadata.Set(CursorKey, st.encode())
	for len(st.pending) > 0 {
		seg := st.pending[0].from
		err := r.ResolveSegment(msg.Context(), req, handlers.Segment{Index: seg, Total: st.total}, st.inner, func(page handlers.Recipients, next string) error {
			after := st.after(next)
			if err := emit(page, after.encode()); err != nil {
				return err
			}
			st = after
			return nil
		})
		if err != nil {
			return err
		}
		if len(st.pending) > 0 && st.pending[0].from == seg {
			st = st.after("") // the segment ended without a last page
		}
		msg.Metadata.Set(CursorKey, st.encode())
	}
	msg.Metadata.Set(splitKey, strconv.Itoa(st.enqueued))
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

// splitState is where a split request stands: its number of segments, the segments
// still to be put on the queue, and whether those are resolved here instead, with the
// cursor in the first of them.
type splitState struct {
	total    int
	enqueued int
	pending  []span
	here     bool
	inner    string
}

// span is the segments from..to, both included.
type span struct{ from, to int }

func newSplitState(total int) splitState {
	return splitState{total: total, pending: []span{{0, total - 1}}}
}

// pendingSegments returns every segment st holds, in order.
func (st splitState) pendingSegments() []int {
	var out []int
	for _, s := range st.pending {
		for i := s.from; i <= s.to; i++ {
			out = append(out, i)
		}
	}
	return out
}

// after returns st once the page of its first segment that ends at inner is emitted: ""
// ends the segment.
func (st splitState) after(inner string) splitState {
	st.pending = slices.Clone(st.pending)
	st.inner = inner
	if inner == "" {
		if first := &st.pending[0]; first.from < first.to {
			first.from++
		} else {
			st.pending = st.pending[1:]
		}
	}
	return st
}

// spansOf returns sorted segments as spans.
func spansOf(segments []int) []span {
	var out []span
	for _, s := range segments {
		if n := len(out); n > 0 && out[n-1].to == s-1 {
			out[n-1].to = s
		} else {
			out = append(out, span{s, s})
		}
	}
	return out
}

// The cursor of a split request: "split:TOTAL:ENQUEUED:SPANS" while its tasks are put on
// the queue, "split-here:TOTAL:ENQUEUED:SPANS:INNER" while the segments SPANS are
// resolved here, INNER (base64url) being the store's cursor in the first. SPANS are the
// segments still to do, such as "0-4,7,9-12". No cursor of a whole request's
// resolution looks like one: a store's scan cursor is base64url (DynamoDB) or holds a
// NUL (the memory store), and these hold neither a NUL nor only base64url characters.
const (
	splitPrefix     = "split:"
	splitHerePrefix = "split-here:"
)

// encode returns the cursor of st.
func (st splitState) encode() string {
	var b strings.Builder
	if st.here {
		b.WriteString(splitHerePrefix)
	} else {
		b.WriteString(splitPrefix)
	}
	b.WriteString(strconv.Itoa(st.total))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(st.enqueued))
	b.WriteByte(':')
	for i, s := range st.pending {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s.from))
		if s.to != s.from {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(s.to))
		}
	}
	if st.here {
		b.WriteByte(':')
		b.WriteString(base64.RawURLEncoding.EncodeToString([]byte(st.inner)))
	}
	return b.String()
}

// parseSplitCursor returns the state cursor holds, false if it is not the cursor of a
// split request.
func parseSplitCursor(cursor string) (splitState, bool) {
	var st splitState
	rest, ok := strings.CutPrefix(cursor, splitPrefix)
	if !ok {
		if rest, ok = strings.CutPrefix(cursor, splitHerePrefix); !ok {
			return splitState{}, false
		}
		st.here = true
	}
	if strings.ContainsRune(cursor, 0) {
		return splitState{}, false
	}
	fields := strings.Split(rest, ":")
	if want := map[bool]int{false: 3, true: 4}[st.here]; len(fields) != want {
		return splitState{}, false
	}
	var err1, err2 error
	st.total, err1 = strconv.Atoi(fields[0])
	st.enqueued, err2 = strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil || fields[0] != strconv.Itoa(st.total) || fields[1] != strconv.Itoa(st.enqueued) || st.total < 2 || st.total > handlers.MaxSegments || st.enqueued < 0 || st.enqueued > st.total {
		return splitState{}, false
	}
	pending, ok := parseSpans(fields[2], st.total)
	if !ok {
		return splitState{}, false
	}
	st.pending = pending
	left := 0
	for _, s := range pending {
		left += s.to - s.from + 1
	}
	if st.enqueued+left > st.total || !st.here && st.enqueued+left != st.total {
		// Until it is resolved here, a split's tasks are on the queue or to enqueue.
		return splitState{}, false
	}
	if st.here {
		// Decoding skips line breaks and ignores trailing bits: only the cursor encode
		// makes is taken.
		inner, err := base64.RawURLEncoding.DecodeString(fields[3])
		if err != nil || base64.RawURLEncoding.EncodeToString(inner) != fields[3] || len(pending) == 0 && len(inner) > 0 {
			return splitState{}, false
		}
		st.inner = string(inner)
	}
	return st, true
}

// parseSpans reads SPANS of segments below total: ascending, disjoint, not adjacent.
func parseSpans(s string, total int) ([]span, bool) {
	if s == "" {
		return nil, true
	}
	var out []span
	last := -2
	for _, part := range strings.Split(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(from)
		if err != nil {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(to); err != nil || b <= a {
				return nil, false
			}
		}
		if a <= last+1 || b >= total || from != strconv.Itoa(a) || isRange && to != strconv.Itoa(b) {
			return nil, false
		}
		out = append(out, span{a, b})
		last = b
	}
	return out, true
}
