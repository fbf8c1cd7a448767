// Package intake is the HTTP front door of `pusher dev`: POST /notifications takes a
// notification request and hands it to the pipeline as a Watermill subscriber would.
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Topic is the topic an Intake delivers requests on.
const Topic = "notifications"

// MaxBodyBytes is the largest request body taken: the largest SNS message, and the
// largest SQS message of a queue left at its old default.
const MaxBodyBytes = 256 * 1024

// Intake is a message.Subscriber fed by HTTP. A POST is answered 202 once the pipeline
// has taken the request, so a request answered 202 is in the pipeline's hands.
type Intake struct {
	// Poison, when set, parks (stage "intake") a body that is not JSON, besides
	// answering 400, as the pipeline parks every other malformed request; a body it
	// fails to park is answered 503, so that its sender keeps it. It also parks a
	// request answered 202 that the pipeline could not settle (its deadline passed, or
	// the pusher stopped first): no queue would deliver it again.
	Poison message.Publisher
	// PoisonTopic is the topic Poison is published to; default "poison".
	PoisonTopic string

	logger   *slog.Logger
	out      chan *message.Message
	watching sync.WaitGroup // a watch per request handed out and not yet settled

	mu        sync.RWMutex // held for reading while sending on out, for writing to close it
	closing   chan struct{}
	closed    bool
	closeOnce sync.Once
}

// New returns an Intake; a nil logger means slog.Default().
func New(logger *slog.Logger) *Intake {
	if logger == nil {
		logger = slog.Default()
	}
	return &Intake{logger: logger, out: make(chan *message.Message), closing: make(chan struct{})}
}

// Register mounts POST /notifications on mux.
func (in *Intake) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /notifications", in.post)
}

func (in *Intake) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body over %d bytes", MaxBodyBytes)})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read body: " + err.Error()})
		return
	}
	msg := message.NewMessage(watermill.NewUUID(), body)
	corr := r.Header.Get("X-Correlation-Id")
	if corr == "" {
		corr = msg.UUID
	}
	middleware.SetCorrelationID(corr, msg)
	if !json.Valid(body) {
		reason := "body is not JSON"
		if err := in.park(msg, handlers.Permanent(errors.New(reason))); err != nil {
			// Not parked: say so, so that the sender keeps the request rather than
			// believe it is in the poison queue.
			in.logger.Error("park a body that is not JSON", "message_id", msg.UUID, "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": fmt.Sprintf("%s, and parking it failed: %v", reason, err)})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": reason, "message_id": msg.UUID, "correlation_id": corr})
		return
	}
	if err := in.hand(r.Context(), msg); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"message_id": msg.UUID, "correlation_id": corr})
}

func (in *Intake) park(msg *message.Message, reason error) error {
	if in.Poison == nil {
		return nil
	}
	pipeline.MarkParked(msg, "intake", reason)
	topic := in.PoisonTopic
	if topic == "" {
		topic = "poison"
	}
	if err := in.Poison.Publish(topic, msg); err != nil {
		return fmt.Errorf("park request %s: %w", msg.UUID, err)
	}
	in.logger.Warn("message parked", "message_id", msg.UUID, "stage", "intake",
		"correlation_id", middleware.MessageCorrelationID(msg), "reason", reason)
	return nil
}

// hand gives msg to the subscriber and returns once it is taken.
func (in *Intake) hand(ctx context.Context, msg *message.Message) error {
	in.mu.RLock()
	defer in.mu.RUnlock()
	if in.closed {
		return errors.New("intake is closed")
	}
	select {
	case in.out <- msg:
	case <-in.closing:
		return errors.New("intake is closing")
	case <-ctx.Done():
		return fmt.Errorf("hand request %s to the pipeline: %w", msg.UUID, ctx.Err())
	}
	in.watching.Add(1) // under mu: Close, then Wait, sees every Add
	go in.watch(msg)
	return nil
}

// errUnsettled is the reason a request answered 202 is parked with.
var errUnsettled = errors.New("request not settled: its deadline passed or the pusher stopped first (its log line says which)")

// watch parks a request the pipeline could not settle: with no queue behind it, the
// intake cannot have it delivered again, and a replay sends it back whole.
func (in *Intake) watch(msg *message.Message) {
	defer in.watching.Done()
	select {
	case <-msg.Acked():
	case <-msg.Nacked():
		if in.Poison == nil {
			in.logger.Error("request not settled, and no poison queue to park it", "message_id", msg.UUID)
			return
		}
		if err := in.park(msg.Copy(), errUnsettled); err != nil {
			in.logger.Error("request not settled, and parking it failed", "message_id", msg.UUID, "error", err)
		}
	}
}

// Wait waits until every request handed out is settled, or parked when it could not
// be, or ctx is done. Call it after Close, once the pipeline has stopped.
func (in *Intake) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		in.watching.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the requests handed out: %w", ctx.Err())
	}
}

// Subscribe returns the channel of admitted requests; the topic must be Topic. The
// channel closes when ctx is done or the Intake is closed.
func (in *Intake) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic != Topic {
		return nil, fmt.Errorf("intake has no topic %q, only %q", topic, Topic)
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = in.Close()
		case <-in.closing:
		}
	}()
	return in.out, nil
}

// Close stops taking requests; posts after it are answered 503.
func (in *Intake) Close() error {
	in.closeOnce.Do(func() {
		close(in.closing) // senders waiting on out give up and release mu
		in.mu.Lock()
		defer in.mu.Unlock()
		in.closed = true
		close(in.out)
	})
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
