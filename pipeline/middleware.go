package pipeline

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// middleware returns the chain every stage runs behind, outermost first:
//
//   - limit: at most n messages at once; the message is acked as soon as it has a slot,
//     because an in-process hand-over means nothing once the tracker holds the work;
//   - forward: the messages the stage emits are published to the next one while the
//     slot is held, so a stage cannot run ahead of the next (memory stays flat), and
//     the tracker learns what was emitted and that the message is settled;
//   - poison: what still fails is parked, with its reason, stage and attempts;
//   - annotate: the error's class and failure times go into the metadata;
//   - retry: transient errors are retried with exponential backoff and jitter;
//   - count: each run is one attempt;
//   - recover: a panic is a permanent error, not a crash.
func (p *Pipeline) middleware(s stage, next string) ([]message.HandlerMiddleware, error) {
	concurrency := s.concurrency
	if concurrency <= 0 {
		concurrency = p.cfg.StageConcurrency
	}
	poison, err := middleware.PoisonQueueWithFilter(p.poison, p.cfg.PoisonTopic, func(error) bool {
		// Work cut short by a hard stop is not the message's fault: leave it unsettled
		// so its source redelivers it.
		return p.work.Err() == nil
	})
	if err != nil {
		return nil, err
	}
	r := p.cfg.Retry
	retry := middleware.Retry{
		MaxRetries:          r.MaxAttempts - 1,
		InitialInterval:     r.InitialInterval,
		MaxInterval:         r.MaxInterval,
		Multiplier:          r.Multiplier,
		RandomizationFactor: r.Jitter,
		ResetContextOnRetry: true,
		ShouldRetry: func(params middleware.RetryParams) bool {
			return Classify(params.Err) == Transient && p.work.Err() == nil
		},
	}
	return []message.HandlerMiddleware{
		limit(concurrency),
		middleware.InstantAck,
		p.forward(s, next),
		poison,
		annotate,
		retry.Middleware,
		countAttempts,
		middleware.Recoverer,
	}, nil
}

// limit lets at most n messages through at once. A message waiting for a slot is not
// acked, so the publisher of the stage before waits too.
func limit(n int) message.HandlerMiddleware {
	slots := make(chan struct{}, n)
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			slots <- struct{}{}
			defer func() { <-slots }()
			return h(msg)
		}
	}
}

// forward publishes what the stage emitted to the next stage's topic and reports to the
// tracker what became of the message. It runs outside the poison middleware, so a parked
// message is settled; only work that could neither be done nor parked fails the request.
func (p *Pipeline) forward(s stage, next string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			delete(msg.Metadata, middleware.ReasonForPoisonedKey) // left by an earlier park
			id := msg.Metadata.Get(RequestIDKey)
			out, err := h(msg)
			if err == nil && len(out) > 0 {
				for _, m := range out {
					carry(msg, m)
				}
				p.tracker.add(id, len(out))
				if err = p.bus.Publish(next, out...); err != nil {
					p.tracker.add(id, -len(out))
					err = fmt.Errorf("%s: forward to %s: %w", s.name, next, err)
				}
			}
			parked := msg.Metadata.Get(middleware.ReasonForPoisonedKey) != ""
			p.tracker.settle(id, func(st *Stats) {
				switch {
				case parked:
					st.Failed++
				case err == nil && s.note != nil:
					s.note(st, out)
				}
			}, err)
			if parked {
				p.logger.Warn("message parked", "request_id", id, "stage", s.name,
					"connection_id", msg.Metadata.Get(ConnectionIDKey), "attempts", attempts(msg),
					"error_class", msg.Metadata.Get(ErrorClassKey), "reason", msg.Metadata.Get(middleware.ReasonForPoisonedKey))
			}
			return nil, err
		}
	}
}

// annotate records the class of a failure and when it happened.
func annotate(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err != nil {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			msg.Metadata.Set(ErrorClassKey, string(Classify(err)))
			if msg.Metadata.Get(FirstFailedAtKey) == "" {
				msg.Metadata.Set(FirstFailedAtKey, now)
			}
			msg.Metadata.Set(LastFailedAtKey, now)
		}
		return out, err
	}
}

// countAttempts counts each run of the handler, carrying on the count of a replayed message.
func countAttempts(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		msg.Metadata.Set(AttemptsKey, strconv.Itoa(attempts(msg)+1))
		return h(msg)
	}
}
