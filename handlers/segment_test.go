package handlers_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestResolveSegment checks that the segment tasks of a broadcast or an exclusion reach,
// together, exactly the connections the request reaches whole: each once, the excluded
// users' none, whatever the number of segments.
func TestResolveSegment(t *testing.T) {
	var conns []handlers.Connection
	for i := range 200 {
		conns = append(conns, conn(fmt.Sprint("u", i%37), fmt.Sprint("c", i)))
	}
	store := newStore(t, 7, conns...)
	r := handlers.Resolver{Store: store}
	for _, req := range []handlers.Request{
		{Data: []byte(`1`)},
		{ExcludeUsers: []string{"u3", "u5"}, Data: []byte(`1`)},
	} {
		var whole emitted
		if err := r.Resolve(t.Context(), req, "", whole.emit); err != nil {
			t.Fatal(err)
		}
		for _, total := range []int{1, 2, 10, 300} {
			t.Run(fmt.Sprintf("%s in %d", req.Kind(), total), func(t *testing.T) {
				var all []string
				for i := range total {
					var e emitted
					task := req
					task.Segment = &handlers.Segment{Index: i, Total: total}
					if err := r.Resolve(t.Context(), task, "", e.emit); err != nil {
						t.Fatalf("segment %d: %v", i, err)
					}
					for _, p := range e.pages {
						if string(p.Data) != "1" {
							t.Errorf("segment %d: page data %s", i, p.Data)
						}
					}
					all = append(all, ids(e.connections())...)
				}
				if d := duplicates(all); len(d) > 0 {
					t.Errorf("emitted twice: %v", d)
				}
				if !slices.Equal(sorted(all), sorted(ids(whole.connections()))) {
					t.Errorf("the segments emitted %d connections, the whole request %d", len(all), len(whole.connections()))
				}
			})
		}
	}
}

// TestResolveSegmentResumes fails every other emit of a segment task and retries from
// the cursor of the last page emitted: the runs emit the segment's connections once.
func TestResolveSegmentResumes(t *testing.T) {
	var conns []handlers.Connection
	for i := range 100 {
		conns = append(conns, conn(fmt.Sprint("u", i%9), fmt.Sprint("c", i)))
	}
	r := handlers.Resolver{Store: newStore(t, 3, conns...)}
	task := handlers.Request{Data: []byte(`1`), Segment: &handlers.Segment{Index: 1, Total: 3}}
	var once emitted
	if err := r.Resolve(t.Context(), task, "", once.emit); err != nil {
		t.Fatal(err)
	}
	var all []string
	cursor, runs := "", 0
	errFlaky := errors.New("flaky")
	for {
		if runs++; runs > 100 {
			t.Fatal("the resolution does not end")
		}
		e := emitted{failAt: 2, err: errFlaky}
		err := r.Resolve(t.Context(), task, cursor, e.emit)
		all = append(all, ids(e.connections())...)
		if len(e.cursors) > 0 {
			cursor = e.lastCursor()
		}
		if err == nil {
			break
		}
		if !errors.Is(err, errFlaky) {
			t.Fatal(err)
		}
	}
	if d := duplicates(all); len(d) > 0 {
		t.Errorf("emitted twice: %v", d)
	}
	if !slices.Equal(sorted(all), sorted(ids(once.connections()))) {
		t.Errorf("emitted %v over %d runs, want %v", sorted(all), runs, sorted(ids(once.connections())))
	}
}

// TestResolveSegmentWithoutSegments checks that a store that cannot scan a segment
// refuses a segment task for good, saying why.
func TestResolveSegmentWithoutSegments(t *testing.T) {
	r := handlers.Resolver{Store: &failingStore{}}
	task := handlers.Request{Data: []byte(`1`), Segment: &handlers.Segment{Index: 0, Total: 2}}
	err := r.Resolve(t.Context(), task, "", (&emitted{}).emit)
	if !handlers.IsPermanent(err) || !errors.Is(err, handlers.ErrNoSegments) {
		t.Errorf("Resolve = %v, want a permanent ErrNoSegments", err)
	}
}
