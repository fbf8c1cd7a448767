package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"golang.org/x/time/rate"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The built-in stages, in pipeline order. Custom stages are inserted after one of them.
const (
	StageDecode  = "decode"
	StageDedupe  = "dedupe"
	StageResolve = "resolve"
	StageFanout  = "fanout"
	StagePost    = "post"
	StagePrune   = "prune"
)

// routerStage is one handler of the stage router: a built-in stage or one inserted (see
// Stage, the API teams insert theirs with).
type routerStage struct {
	name        string
	handler     message.HandlerFunc
	concurrency int
	// note counts in the request's Stats what a successful run of the stage did with
	// in: the messages it emitted, and what it marked in in's metadata.
	note func(s *Stats, in *message.Message, out []*message.Message)
	// resumable marks a stage that records its progress in CursorKey: see countStalls.
	resumable bool
	// inserted marks a custom stage, after the stage named.
	inserted bool
	after    string
}

// builtins returns the stages of package handlers as Watermill handlers.
func (p *Pipeline) builtins() []routerStage {
	c := p.cfg
	return []routerStage{
		{name: StageDecode, handler: decodeStage(handlers.Decoder{MaxFrameBytes: c.MaxFrameBytes, Mappings: c.Mappings})},
		{name: StageDedupe, handler: p.dedupeStage},
		{name: StageResolve, resumable: true, handler: p.resolveStage(handlers.Resolver{
			Store: p.store, PageSize: c.PageSize, Concurrency: c.StageConcurrency,
		}), note: func(s *Stats, in *message.Message, _ []*message.Message) {
			s.Split, _ = strconv.Atoi(in.Metadata.Get(splitKey))
		}},
		{name: StageFanout, handler: fanoutStage,
			note: func(s *Stats, _ *message.Message, out []*message.Message) { s.Connections += len(out) }},
		{name: StagePost, concurrency: c.PostConcurrency, handler: postStage(handlers.Post{Gateway: p.gateway, Grace: c.PruneGrace}, c.PostTimeout, &p.observers, p.pace),
			note: func(s *Stats, in *message.Message, _ []*message.Message) {
				switch in.Metadata.Get(outcomeKey) {
				case outcomeDelivered:
					s.Delivered++
				case outcomeConnecting:
					s.Connecting++
				}
			}},
		{name: StagePrune, handler: pruneStage(handlers.Pruner{Store: p.store, Grace: c.PruneGrace}),
			note: func(s *Stats, _ *message.Message, _ []*message.Message) { s.Pruned++ }},
	}
}

func decodeStage(d handlers.Decoder) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		req, err := d.DecodeFrom(msg.Metadata.Get(EventSourceKey), msg.Payload)
		if err != nil {
			return nil, err
		}
		return encodeOne(msg, req)
	}
}

// dedupeStage also tells the tracker what the request is, for its log line and metrics.
func (p *Pipeline) dedupeStage(msg *message.Message) ([]*message.Message, error) {
	req, err := Decode[handlers.Request](msg)
	if err != nil {
		return nil, err
	}
	req = handlers.Dedupe(req)
	id := msg.Metadata.Get(RequestIDKey)
	shape := Shape{Kind: KindOf(req), Users: len(req.Users), Topics: len(req.Topics)}
	if req.Segment != nil {
		shape.Segment = req.Segment.String()
		// A task's receipt, under its request's correlation id: which instance or
		// invocation took which share of a split broadcast.
		p.logger.Info("segment task received", "request_id", id, "correlation_id", msg.Metadata.Get(CorrelationIDKey),
			"kind", shape.Kind, "segment", shape.Segment)
	}
	p.tracker.describe(id, shape, p.loadOf(req))
	return encodeOne(msg, req)
}

// loadOf returns how req weighs on the stages' credits (see gate): bulk unless it is a
// multicast to at most a page of users, and held to its share of the fleet's post rate
// if it is a segment task that carries one.
func (p *Pipeline) loadOf(req handlers.Request) load {
	l := load{bulk: req.Kind() != handlers.Multicast || len(req.Topics) > 0 || len(req.Users) > p.cfg.PageSize}
	if s := req.Segment; s != nil && s.PostRate > 0 {
		l.share = rate.NewLimiter(rate.Limit(s.PostRate), burstOf(s.PostRate))
	}
	return l
}

// resolveStage publishes each page as soon as the store yields it, so that a broadcast
// streams through fan-out instead of piling up in memory. A retry resumes after the
// last page published. A broadcast over a large store may be split into segment tasks
// instead (see SplitTo), which it publishes nothing for.
func (p *Pipeline) resolveStage(r handlers.Resolver) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		req, err := Decode[handlers.Request](msg)
		if err != nil {
			return nil, err
		}
		id := msg.Metadata.Get(RequestIDKey)
		emit := func(page handlers.Recipients, next string) error {
			out, err := Encode(msg, page)
			if err != nil {
				return err
			}
			p.tracker.add(id, 1)
			if _, err := p.flow.publish(msg.Context(), p.topicAfter(StageResolve), out); err != nil {
				p.tracker.add(id, -1)
				return err
			}
			msg.Metadata.Set(CursorKey, next)
			return nil
		}
		if split, err := p.splitResolve(msg, r, req, msg.Metadata.Get(CursorKey), emit); split {
			return nil, err
		}
		// Not split, or not any more: from the cursor as splitResolve left it.
		return nil, r.Resolve(msg.Context(), req, msg.Metadata.Get(CursorKey), emit)
	}
}

func fanoutStage(msg *message.Message) ([]*message.Message, error) {
	page, err := Decode[handlers.Recipients](msg)
	if err != nil {
		return nil, err
	}
	deliveries := handlers.Fanout(page)
	out := make([]*message.Message, len(deliveries))
	for i, d := range deliveries {
		out[i] = derive(msg, d.Frame)
		setConnection(out[i], d.Connection)
		if d.Topic != "" {
			out[i].Metadata.Set(TopicKey, d.Topic)
		}
	}
	return out, nil
}

// postStage posts a delivery, and tells the pacer, if any, whether the gateway took it
// or throttled it.
func postStage(post handlers.Post, timeout time.Duration, observe Observer, pace *pacer) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		d := handlers.Delivery{Connection: connectionOf(msg), Frame: msg.Payload}
		start := time.Now()
		ctx, cancel := context.WithTimeout(msg.Context(), timeout)
		outcome, err := post.Post(ctx, d)
		cancel()
		if pace != nil {
			switch {
			case errors.Is(err, handlers.ErrThrottled):
				pace.throttled()
			case err == nil:
				pace.passed()
			}
		}
		if err == nil && outcome != handlers.Delivered {
			observe.Posted(time.Since(start), handlers.ErrGone)
		} else {
			observe.Posted(time.Since(start), err)
		}
		switch {
		case err != nil:
			return nil, err
		case outcome == handlers.Delivered:
			msg.Metadata.Set(outcomeKey, outcomeDelivered)
			return nil, nil
		case outcome == handlers.Connecting:
			msg.Metadata.Set(outcomeKey, outcomeConnecting)
			return nil, nil
		}
		stale := derive(msg, nil)
		setConnection(stale, d.Connection)
		return []*message.Message{stale}, nil
	}
}

func pruneStage(pruner handlers.Pruner) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		return nil, pruner.Prune(msg.Context(), connectionOf(msg))
	}
}

// outcomeKey marks, on a delivery the post stage took, what became of it for the
// request's Stats: the stale connection it emits for a 410 says the rest.
const (
	outcomeKey        = "post_outcome"
	outcomeDelivered  = "delivered"
	outcomeConnecting = "connecting"
)

func setConnection(msg *message.Message, c handlers.Connection) {
	msg.Metadata.Set(UserIDKey, c.UserID)
	msg.Metadata.Set(ConnectionIDKey, c.ConnectionID)
	if !c.ConnectedAt.IsZero() {
		msg.Metadata.Set(ConnectedAtKey, strconv.FormatInt(c.ConnectedAt.Unix(), 10))
	}
}

func connectionOf(msg *message.Message) handlers.Connection {
	c := handlers.Connection{UserID: msg.Metadata.Get(UserIDKey), ConnectionID: msg.Metadata.Get(ConnectionIDKey)}
	if secs, err := strconv.ParseInt(msg.Metadata.Get(ConnectedAtKey), 10, 64); err == nil {
		c.ConnectedAt = time.Unix(secs, 0)
	}
	return c
}

// Decode reads the JSON value a stage message carries: a handlers.Request after decode
// and dedupe, a handlers.Recipients page after resolve. A message that does not hold
// one is a permanent error.
func Decode[T any](msg *message.Message) (T, error) {
	var v T
	if err := json.Unmarshal(msg.Payload, &v); err != nil {
		return v, handlers.Permanent(fmt.Errorf("decode %T from message %s: %w", v, msg.UUID, err))
	}
	return v, nil
}

// Encode makes a message that follows from msg and carries v as JSON. HTML characters
// are not escaped: a frame reaches its clients byte for byte as the request gave it.
func Encode(msg *message.Message, v any) (*message.Message, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, handlers.Permanent(fmt.Errorf("encode %T: %w", v, err))
	}
	return derive(msg, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

func encodeOne(msg *message.Message, v any) ([]*message.Message, error) {
	out, err := Encode(msg, v)
	if err != nil {
		return nil, err
	}
	return []*message.Message{out}, nil
}
