package memory_test

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestAnonymousConnections keeps connections without a user (UserID "") beside users'
// ones: scans and segments read them back without a user, page by page through cursors
// that start with an empty user; no user's lookup returns them; $disconnect (which names
// no user) and the prune remove them with their subscriptions.
func TestAnonymousConnections(t *testing.T) {
	a1, a2, a3 := conn("", "CnPqA1"), conn("", "CnPqA2"), conn("", "CnPqA3")
	erin := conn("erin", "CnPqE1")
	all := []handlers.Connection{a1, a2, a3, erin}

	t.Run("scanned a page at a time", func(t *testing.T) {
		s := newStore(t, 1, all...)
		pages := scan(t, s, "", nil)
		if got := flatten(pages); !slices.Equal(got, all) {
			t.Errorf("scanned %v, want %v", got, all)
		}
		if len(pages) != 4 || pages[0].next != a1.Cursor() {
			t.Errorf("pages %v, want 4 of one, the first's next the cursor of %s", pages, a1.ConnectionID)
		}
		// A cursor of a connection without a user resumes after it.
		if got := flatten(scan(t, s, a2.Cursor(), nil)); !slices.Equal(got, []handlers.Connection{a3, erin}) {
			t.Errorf("resumed after %s: %v", a2.ConnectionID, got)
		}
	})

	t.Run("in the segments, each once", func(t *testing.T) {
		s := newStore(t, 1, all...)
		var got []handlers.Connection
		for seg := range 3 {
			err := s.ScanSegment(t.Context(), seg, 3, "", func(conns []handlers.Connection, _ string) error {
				got = append(got, conns...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.SortFunc(got, compareConns)
		if !slices.Equal(got, all) {
			t.Errorf("segments held %v, want %v", got, all)
		}
	})

	t.Run("no user's", func(t *testing.T) {
		s := newStore(t, 10, all...)
		for _, user := range []string{"", "$anonymous:" + a1.ConnectionID, "$"} {
			if got, err := s.UserConnections(t.Context(), user); err != nil || len(got) != 0 {
				t.Errorf("UserConnections(%q) = %v, %v: want none", user, got, err)
			}
		}
		if got, _ := s.UserConnections(t.Context(), "erin"); !slices.Equal(got, []handlers.Connection{erin}) {
			t.Errorf("erin's: %v", got)
		}
		if c, found, err := s.Connection(t.Context(), a1.ConnectionID); err != nil || !found || c != a1 {
			t.Errorf("Connection(%s) = %v, %v, %v", a1.ConnectionID, c, found, err)
		}
	})

	t.Run("removed by $disconnect and the prune, with their subscriptions", func(t *testing.T) {
		young := handlers.Connection{ConnectionID: "CnPqY1", ConnectedAt: time.Now()}
		s := newStore(t, 10, append(all, young)...)
		for _, c := range []handlers.Connection{a1, a2, young, erin} {
			if err := s.Subscribe(t.Context(), handlers.Connection{ConnectionID: c.ConnectionID}, []string{"v-42"}, handlers.DefaultMaxTopics); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RemoveConnection(t.Context(), handlers.Connection{ConnectionID: a1.ConnectionID}); err != nil {
			t.Fatal(err)
		}
		// As the topic's resolve hands them to the prune: without a user.
		var subs []handlers.Connection
		err := s.TopicConnections(t.Context(), "v-42", "", func(conns []handlers.Connection, _ string) error {
			subs = append(subs, conns...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PruneConnections(t.Context(), subs, time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := flatten(scan(t, s, "", nil)); !slices.Equal(got, []handlers.Connection{a3, young}) {
			t.Errorf("left %v, want %s and the young %s", got, a3.ConnectionID, young.ConnectionID)
		}
		if got, _ := s.Topics(t.Context(), young); !slices.Equal(got, []string{"v-42"}) {
			t.Errorf("the young one follows %v", got)
		}
		if n := s.Subscriptions(); n != 1 {
			t.Errorf("%d subscriptions left, want the young one's", n)
		}
	})
}

// compareConns orders connections by key, as the store keeps them.
func compareConns(a, b handlers.Connection) int {
	return cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.ConnectionID, b.ConnectionID))
}
