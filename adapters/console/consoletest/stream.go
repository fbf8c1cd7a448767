// Package consoletest reads the console's event stream in tests, as the page's
// EventSource does: over a plain HTTP connection, event by event.
package consoletest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Timeout is how long Next and Await wait for an event.
const Timeout = 10 * time.Second

// Event is one event of the stream: a name and its data, or a comment line.
type Event struct {
	Name string
	Data json.RawMessage
	// Comment is the text of a comment line (": keep-alive"), for an event without a
	// name.
	Comment string
}

// Stream is an open event stream.
type Stream struct {
	// Header is the response's header.
	Header http.Header
	events chan Event
	// ended is closed when the stream ends; err then says how: io.EOF for a stream the
	// server ended cleanly.
	ended chan struct{}
	err   error
	body  io.ReadCloser
	// ctx is done when the test ends: read then stops, even with its buffer full.
	ctx context.Context
}

// Open opens the event stream at url (http://host:port/console/events), closed when
// the test ends. It fails the test unless the server answers 200 text/event-stream.
func Open(t testing.TB, url string) *Stream {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return OpenRequest(t, req)
}

// OpenRequest is Open with the request req, for its headers.
func OpenRequest(t testing.TB, req *http.Request) *Stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		t.Fatalf("open the event stream: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel()
		t.Fatalf("the event stream answered %s (%s): %s", resp.Status, ct, body)
	}
	s := &Stream{Header: resp.Header, events: make(chan Event, 10_000), ended: make(chan struct{}), body: resp.Body, ctx: ctx}
	go s.read()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-s.ended
	})
	return s
}

// read parses the stream as the HTML standard's event stream interpretation does,
// for the fields the console sends: event, data, and comments. It stops when the
// stream ends, or when the test ends, though its buffer be full: a test that stopped
// reading events must not hold its cleanup for ever.
func (s *Stream) read() {
	defer close(s.ended)
	defer close(s.events)
	r := bufio.NewReader(s.body)
	var ev Event
	var data [][]byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			s.err = err
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch field, value, _ := strings.Cut(line, ":"); {
		case line == "":
			if ev.Name != "" || data != nil {
				ev.Data = bytes.Join(data, []byte("\n"))
				if !s.emit(ev) {
					return
				}
			}
			ev, data = Event{}, nil
		case field == "":
			if !s.emit(Event{Comment: strings.TrimPrefix(value, " ")}) {
				return
			}
		case field == "event":
			ev.Name = strings.TrimPrefix(value, " ")
		case field == "data":
			data = append(data, []byte(strings.TrimPrefix(value, " ")))
		}
	}
}

// emit hands ev to the reader of the stream, reporting false when the test ended first.
func (s *Stream) emit(ev Event) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.ctx.Done():
		s.err = context.Cause(s.ctx)
		return false
	}
}

// Next returns the next event or comment, failing the test if none comes in Timeout,
// or if the stream ends.
func (s *Stream) Next(t testing.TB) Event {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatalf("the event stream ended: %v", s.err)
		}
		return ev
	case <-time.After(Timeout):
		t.Fatalf("no event in %s", Timeout)
	}
	return Event{}
}

// Ended waits up to Timeout for the stream to end, reading past the events left, and
// returns how it ended: io.EOF when the server ended it cleanly.
func (s *Stream) Ended(t testing.TB) error {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				<-s.ended
				return s.err
			}
		case <-deadline:
			t.Fatalf("the event stream did not end in %s", Timeout)
		}
	}
}

// Await returns the data of the first event named name whose data, decoded into a T,
// satisfies ok, skipping the others; it fails the test if none comes in Timeout.
func Await[T any](t testing.TB, s *Stream, name string, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(Timeout)
	var seen []string
	for {
		select {
		case ev, open := <-s.events:
			if !open {
				t.Fatalf("the event stream ended (%v) before a %s event as wanted; last seen: %s", s.err, name, last(seen))
			}
			if ev.Name != name {
				continue
			}
			var v T
			if err := json.Unmarshal(ev.Data, &v); err != nil {
				t.Fatalf("a %s event's data %s: %v", name, ev.Data, err)
			}
			if ok == nil || ok(v) {
				return v
			}
			seen = append(seen, string(ev.Data))
		case <-deadline:
			t.Fatalf("no %s event as wanted in %s; last seen: %s", name, Timeout, last(seen))
		}
	}
}

func last(seen []string) string {
	if len(seen) == 0 {
		return "none"
	}
	return seen[len(seen)-1]
}
