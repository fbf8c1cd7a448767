package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

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

// enqueueTasks puts the tasks st still holds on the queue and records what it could
// in st and in msg's cursor. A refusal for good of tasks that some of the split's are
// already on the queue turns st to resolving the rest here; of all of them, to
// resolving the request as a whole (st.Total is then 0): it is not split.
func (p *Pipeline) enqueueTasks(msg *message.Message, req handlers.Request, st *handlers.SplitState) error {
	segments := st.PendingSegments()
	tasks, err := segmentTasks(msg, req, segments, st.Total, p.cfg.Pace.FleetRate)
	if err != nil {
		return err
	}
	errs := p.split.queue.Enqueue(msg.Context(), tasks)
	if len(errs) != len(tasks) {
		return fmt.Errorf("enqueue %d segment tasks: the queue answered for %d", len(tasks), len(errs))
	}
	refused := refusalsOf(segments, st.Total, errs)
	st.Enqueued += len(tasks) - len(refused.segments)
	st.Pending = handlers.SpansOf(refused.segments)
	if len(refused.segments) == 0 {
		msg.Metadata.Set(CursorKey, st.Cursor())
		msg.Metadata.Set(splitKey, strconv.Itoa(st.Enqueued))
		return nil
	}
	err = fmt.Errorf("enqueue %d of %d segment tasks: %w", len(refused.segments), len(tasks), errors.Join(refused.causes...))
	if refused.forGood {
		if st.Enqueued == 0 {
			p.unsplit(msg, st, err)
			return nil
		}
		p.logger.Warn("segment tasks refused by the queue: resolving them here", "request_id", msg.Metadata.Get(RequestIDKey),
			"correlation_id", msg.Metadata.Get(CorrelationIDKey), "segments", st.Total, "refused", len(refused.segments), "error", err)
		st.Here = true
	}
	if st.Enqueued > 0 || st.Here {
		// A retry enqueues only the tasks refused, or resolves them here.
		msg.Metadata.Set(CursorKey, st.Cursor())
	}
	return err
}

// unsplit turns st, every task of which the queue refused for good (err), back into a
// request resolved as a whole: none of it is on the queue, so nothing is sent twice.
func (p *Pipeline) unsplit(msg *message.Message, st *handlers.SplitState, err error) {
	p.logger.Warn("segment tasks refused by the queue: resolving the broadcast here", "request_id", msg.Metadata.Get(RequestIDKey),
		"correlation_id", msg.Metadata.Get(CorrelationIDKey), "segments", st.Total, "error", err)
	st.Total = 0
	msg.Metadata.Set(CursorKey, "")
}

// refusals are the segments whose tasks the queue refused.
type refusals struct {
	segments []int
	// causes are the first few refusals, enough to tell why without a line per task.
	causes []error
	// forGood is set when every refusal is permanent: enqueueing again cannot help.
	forGood bool
}

// refusalsOf reads the queue's answers errs to the tasks of segments, of total.
func refusalsOf(segments []int, total int, errs []error) refusals {
	r := refusals{forGood: true}
	for i, err := range errs {
		if err == nil {
			continue
		}
		r.segments = append(r.segments, segments[i])
		if len(r.causes) < 3 {
			r.causes = append(r.causes, fmt.Errorf("segment %d/%d: %w", segments[i], total, err))
		}
		r.forGood = r.forGood && handlers.IsPermanent(err)
	}
	return r
}

// segmentTasks returns the tasks of segments of req, of total, each with its share of
// the fleet's post rate fleetRate, if any: an equal one, fleetRate/total, so that the
// tasks together post no faster than fleetRate however many run at once.
func segmentTasks(msg *message.Message, req handlers.Request, segments []int, total int, fleetRate float64) ([]*message.Message, error) {
	tasks := make([]*message.Message, len(segments))
	for i, seg := range segments {
		t, err := segmentTask(msg, req, handlers.Segment{Index: seg, Total: total, PostRate: fleetRate / float64(total)})
		if err != nil {
			return nil, err
		}
		tasks[i] = t
	}
	return tasks, nil
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
